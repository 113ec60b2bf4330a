DROP TRIGGER users_moves_plan_inputs ON users;
DROP TRIGGER patients_moves_plan_inputs ON patients;
DROP TRIGGER patient_schedules_moves_plan_inputs ON patient_schedules;
DROP TRIGGER treatments_moves_plan_inputs ON treatments;
DROP FUNCTION move_plan_inputs_version();
DROP TABLE plan_inputs_version;
