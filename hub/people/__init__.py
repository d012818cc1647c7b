"""People: users, teams, project membership and push devices."""
