/**
 * Named checks, as every verify returns them. Kept apart from verify.ts so that code which only
 * reports checks (the wizard controller, status) does not load the certificate libraries.
 */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

export function check(name: string, ok: boolean, detail: string): Check {
  return { name, ok, detail };
}

export function allOk(checks: Check[]): boolean {
  return checks.every((c) => c.ok);
}

export function failed(checks: Check[]): Check[] {
  return checks.filter((c) => !c.ok);
}
