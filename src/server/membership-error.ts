/** A membership change or transfer Raft refused, with its refusal code. */
export class MembershipError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'MembershipError';
    this.code = code;
  }
}
