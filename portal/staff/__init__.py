"""Staff pages: department queues for clerks, municipality overviews for admins."""
