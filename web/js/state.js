// What the whole app shares: the signed-in user (from GET /api/v1/session).

export const state = { user: null, projects: [] };

export function canRunActions() {
  return state.user && state.user.role !== "viewer";
}

export function isAdmin() {
  return state.user?.role === "admin";
}
