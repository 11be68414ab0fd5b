-- Each student keeps the ids of its classes on its own row, in class-id order. A class page
-- (students.page_in_class, GET /v1/classes/{id}/students) used to build them with a
-- correlated subquery on enrollments run once per student, about 80 of the ~190 us that
-- query cost PostgreSQL; now it reads one column. PostgreSQL itself keeps the copy exact:
-- the triggers below recompute the affected students' arrays after every insert into and
-- delete from enrollments, including the deletes cascaded from a class, a student or an
-- account purge. An enrollment is not an edit of the student: updated_at stays as it is.

ALTER TABLE students ADD COLUMN class_ids uuid[] NOT NULL DEFAULT '{}';

-- No enrollment may change between the copy below and the triggers that take over from it
-- (a delete from enrollments alone takes no lock on students).
LOCK TABLE enrollments IN SHARE ROW EXCLUSIVE MODE;

UPDATE students AS s
   SET class_ids = ARRAY(
           SELECT e.class_id FROM enrollments AS e WHERE e.student_id = s.id ORDER BY e.class_id
       )
 WHERE EXISTS (SELECT 1 FROM enrollments AS e WHERE e.student_id = s.id);

-- Two statements, lock first. In READ COMMITTED a single
-- `UPDATE students SET class_ids = ARRAY(SELECT ... FROM enrollments ...)` loses classes: when
-- two transactions enroll one student in two classes at once, the second waits for the
-- first's row lock and then re-evaluates the row with its old snapshot, which does not hold
-- the first one's enrollment. Here the lock is waited for by the SELECT, and the UPDATE, a
-- statement of its own, reads enrollments with a fresh snapshot that does.
-- FOR NO KEY UPDATE, not FOR UPDATE: every enrollment statement holds FOR KEY SHARE on its
-- student (the foreign key, and enroll's own lock), which FOR UPDATE would wait for, so two
-- concurrent enrollments of one student would deadlock. Several students are locked in id
-- order, so that two statements touching the same students (class deletions) cannot
-- deadlock either. A student deleted by this very statement is no longer there to lock or
-- update, and nothing happens to it.
CREATE FUNCTION refresh_student_class_ids() RETURNS trigger
LANGUAGE plpgsql
VOLATILE
SET search_path FROM CURRENT
AS $$
BEGIN
    PERFORM 1 FROM students
      WHERE id IN (SELECT student_id FROM changed)
      ORDER BY id
      FOR NO KEY UPDATE;
    UPDATE students AS s
       SET class_ids = ARRAY(
               SELECT e.class_id FROM enrollments AS e
                WHERE e.student_id = s.id ORDER BY e.class_id
           )
     WHERE s.id IN (SELECT student_id FROM changed);
    RETURN NULL;
END
$$;

-- One trigger per event: a trigger with transition tables may have only one. Both name
-- their rows `changed`, so that one function serves both.
CREATE TRIGGER enrollments_added_class_ids AFTER INSERT ON enrollments
    REFERENCING NEW TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_student_class_ids();

CREATE TRIGGER enrollments_removed_class_ids AFTER DELETE ON enrollments
    REFERENCING OLD TABLE AS changed
    FOR EACH STATEMENT EXECUTE FUNCTION refresh_student_class_ids();
