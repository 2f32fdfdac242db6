-- Changes of a project's members are audited like the project itself: as
-- object type "project_member" with the project's id as the object id, so
-- one query lists who joined, changed role and left a project.

CREATE TRIGGER project_members_history AFTER INSERT OR UPDATE OR DELETE ON project_members
    FOR EACH ROW EXECUTE FUNCTION record_history('project_member', 'project_id');
