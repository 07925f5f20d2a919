// Policies: the organization's policies, built-ins marked and read-only; creating and deleting.
export function policiesPage() {}
