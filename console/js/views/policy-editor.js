// One policy's statements: edited as JSON text, validated while typing, tried against requests,
// and saved after the changes the edit makes are shown.
export function policyEditorPage() {}
