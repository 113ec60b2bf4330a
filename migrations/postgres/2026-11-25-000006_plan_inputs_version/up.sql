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
CREATE FUNCTION move_plan_inputs_version() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE plan_inputs_version SET version = version + 1 WHERE id = 1;
    RETURN NULL;
END
$$;
CREATE TRIGGER users_moves_plan_inputs AFTER INSERT OR UPDATE OR DELETE ON users
    FOR EACH STATEMENT EXECUTE FUNCTION move_plan_inputs_version();
CREATE TRIGGER patients_moves_plan_inputs AFTER INSERT OR UPDATE OR DELETE ON patients
    FOR EACH STATEMENT EXECUTE FUNCTION move_plan_inputs_version();
CREATE TRIGGER patient_schedules_moves_plan_inputs AFTER INSERT OR UPDATE OR DELETE ON patient_schedules
    FOR EACH STATEMENT EXECUTE FUNCTION move_plan_inputs_version();
CREATE TRIGGER treatments_moves_plan_inputs AFTER INSERT OR UPDATE OR DELETE ON treatments
    FOR EACH STATEMENT EXECUTE FUNCTION move_plan_inputs_version();
