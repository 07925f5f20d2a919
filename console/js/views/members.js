// Members: the organization's members with their effective policies; adding by e-mail, removing,
// and attaching or detaching policies and groups.
export function membersPage() {}
