DROP TABLE refresh_tokens;
DROP TABLE invites;
DROP TABLE patients;
DROP TABLE users;
DROP TABLE clinics;
