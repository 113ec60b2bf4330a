-- A number that moves with every change to what a recovery plan is computed from (accounts,
-- patients, their schedules, treatments; protocol versions are immutable). The server reads it with
-- each request's account check and keeps plans it has built only while it stays the same, so a plan
-- is never served from memory after its inputs changed, whichever process or replica changed them.
-- Triggers move it, so no write path can forget to.
CREATE TABLE plan_inputs_version (
    id INTEGER PRIMARY KEY NOT NULL CHECK (id = 1),
    version BIGINT NOT NULL
);
INSERT INTO plan_inputs_version (id, version) VALUES (1, 0);
CREATE TRIGGER users_insert_moves_plan_inputs AFTER INSERT ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_update_moves_plan_inputs AFTER UPDATE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER users_delete_moves_plan_inputs AFTER DELETE ON users
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patients_insert_moves_plan_inputs AFTER INSERT ON patients
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patients_update_moves_plan_inputs AFTER UPDATE ON patients
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patients_delete_moves_plan_inputs AFTER DELETE ON patients
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_schedules_insert_moves_plan_inputs AFTER INSERT ON patient_schedules
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_schedules_update_moves_plan_inputs AFTER UPDATE ON patient_schedules
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER patient_schedules_delete_moves_plan_inputs AFTER DELETE ON patient_schedules
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatments_insert_moves_plan_inputs AFTER INSERT ON treatments
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatments_update_moves_plan_inputs AFTER UPDATE ON treatments
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
CREATE TRIGGER treatments_delete_moves_plan_inputs AFTER DELETE ON treatments
BEGIN UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1; END;
