DROP TABLE screenings;
DROP TABLE reminder_acks;
DROP TABLE treatments;
DROP TABLE patient_schedules;
DROP TABLE protocols;
