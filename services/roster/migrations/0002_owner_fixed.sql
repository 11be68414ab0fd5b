-- A class or student keeps the owner it was created with. Roster decides the owner's own
-- access from owner_id on the row a request reads (services/roster/owner_access.py), so no
-- statement may hand a row to someone else between that read and the request's write: there
-- is no transfer, and this trigger refuses one should any code ever try. Only an UPDATE that
-- names owner_id fires it, so ordinary changes pay nothing.

CREATE FUNCTION refuse_owner_change() RETURNS trigger
LANGUAGE plpgsql
AS $$
BEGIN
    IF NEW.owner_id IS DISTINCT FROM OLD.owner_id THEN
        RAISE EXCEPTION 'owner_id never changes (% %)', TG_TABLE_NAME, OLD.id;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER classes_owner_fixed BEFORE UPDATE OF owner_id ON classes
    FOR EACH ROW EXECUTE FUNCTION refuse_owner_change();

CREATE TRIGGER students_owner_fixed BEFORE UPDATE OF owner_id ON students
    FOR EACH ROW EXECUTE FUNCTION refuse_owner_change();
