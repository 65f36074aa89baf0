/** A failure the operator can act on: printed as is, without a stack trace. */
export class OpsError extends Error {}
