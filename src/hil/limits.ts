// Bounds a gateway sets on one operator's HIL use, in one place for the gateway that enforces them
// (src/gateway/hil/session-cap.ts, refusal-budget.ts) and the operator's tools that explain them
// when they are met (src/operator/grant-text.ts). docs/PROFILE.md §HIL "Sessions per operator" and
// "Refusal budget" say why each is what it is.

/** Sessions one operator may hold at a gateway at once unless its config says otherwise (sessions.per_operator). */
export const DEFAULT_SESSIONS_PER_OPERATOR = 8;

/** Refusals one operator's sessions together may cause per second (and at once); the session refused past it is ended (TOO_MANY_REFUSALS). */
export const REFUSALS_PER_S = 200;
