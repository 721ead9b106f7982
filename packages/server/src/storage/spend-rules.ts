import { safeEqual } from '../crypto/random.js';

/**
 * What a request must match to spend a single-use credential (an authorization code, a refresh
 * token), each rule written once. A store spends the credential in one conditional
 * `UPDATE ... RETURNING` whose WHERE holds the rules (`sameValues`); when that spends nothing, the
 * grant reads the record and refuses with the first rule it breaks (`firstRefusal`). Both read
 * the same list, so a new binding (a DPoP key thumbprint, a PAR request) is one entry in it: the
 * one-statement spend and the refusal cannot disagree.
 *
 * These rules are about what the request presents, and are checked before anything is spent: a
 * request that breaks one (another client, a wrong code_verifier) does not burn the credential,
 * or a party holding a stolen code could spend it without the verifier, and would turn the
 * rightful client's redemption into a replay that revokes its tokens (RFC 6749 §10.5, RFC 7636
 * §1). Whether the credential is still unspent and unexpired is the spending UPDATE's own guard,
 * shared by both ways of spending in the store.
 */
export type SpendRule<Stored, Presented, Reason, Column extends string> =
  | {
      readonly reason: Reason;
      /** The presented value must equal the stored one; in SQL, `column = value`. */
      readonly kind: 'same';
      readonly column: Column;
      readonly stored: (stored: Stored) => string | null;
      /** Undefined: the request does not send one, and the rule does not apply. */
      readonly presented: (presented: Presented) => string | undefined;
    }
  | {
      readonly reason: Reason;
      /**
       * Where the stored flag says so, the request must present the value (its equality is a
       * `same` rule of its own); in SQL, a request without it adds `column = 0`.
       */
      readonly kind: 'required';
      readonly column: Column;
      readonly stored: (stored: Stored) => boolean;
      readonly presented: (presented: Presented) => boolean;
    }
  | {
      readonly reason: Reason;
      /**
       * A binding the credential may carry: where the stored value is set, the request must
       * present the same one (and refuses without one); a stored null binds nothing, whatever is
       * presented. In SQL, `column is null or column = value`, or `column is null` without a value.
       * RFC 9449 §5: a refresh token bound to a DPoP key rotates only with a proof of that key.
       */
      readonly kind: 'bound';
      readonly column: Column;
      readonly stored: (stored: Stored) => string | null;
      readonly presented: (presented: Presented) => string | undefined;
    }
  | {
      readonly reason: Reason;
      /**
       * Every presented item must be among the stored ones. Not written in SQL (items are stored
       * as one space-separated column), so a request it applies to is not spent in one statement.
       */
      readonly kind: 'within';
      readonly stored: (stored: Stored) => readonly string[];
      readonly presented: (presented: Presented) => readonly string[] | undefined;
    };

/** The first rule the request breaks, in the list's order; undefined when it breaks none. */
export function firstRefusal<Stored, Presented, Reason, Column extends string>(
  rules: readonly SpendRule<Stored, Presented, Reason, Column>[],
  stored: Stored,
  presented: Presented,
): Reason | undefined {
  for (const rule of rules) {
    if (rule.kind === 'same') {
      const value = rule.presented(presented);
      const held = rule.stored(stored);
      // Constant-time: some bound values (a code_challenge) are secrets.
      if (value !== undefined && (held === null || !safeEqual(value, held))) return rule.reason;
    } else if (rule.kind === 'required') {
      if (!rule.presented(presented) && rule.stored(stored)) return rule.reason;
    } else if (rule.kind === 'bound') {
      const value = rule.presented(presented);
      const held = rule.stored(stored);
      if (held !== null && (value === undefined || !safeEqual(value, held))) return rule.reason;
    } else {
      const items = rule.presented(presented);
      const held = rule.stored(stored);
      if (items !== undefined && !items.every((item) => held.includes(item))) return rule.reason;
    }
  }
  return undefined;
}

/** One condition of a spending UPDATE's WHERE, written from one rule. */
export type SpendCondition<Column extends string> =
  /** `column = value` */
  | { readonly column: Column; readonly is: 'equal'; readonly value: string | number }
  /** `column is null`: the credential binds nothing (a `bound` rule, the request presents none) */
  | { readonly column: Column; readonly is: 'unbound' }
  /** `(column is null or column = value)`: unbound, or bound to what the request presents */
  | { readonly column: Column; readonly is: 'unbound-or-equal'; readonly value: string };

/**
 * The conditions that make a spending UPDATE enforce the rules; undefined when a rule that
 * applies cannot be written in SQL (then the request goes the read-and-check way).
 */
export function spendConditions<Stored, Presented, Reason, Column extends string>(
  rules: readonly SpendRule<Stored, Presented, Reason, Column>[],
  presented: Presented,
): readonly SpendCondition<Column>[] | undefined {
  const conditions: SpendCondition<Column>[] = [];
  for (const rule of rules) {
    if (rule.kind === 'same') {
      const value = rule.presented(presented);
      if (value !== undefined) conditions.push({ column: rule.column, is: 'equal', value });
    } else if (rule.kind === 'required') {
      // Booleans are 0/1 integers (schema.ts): without the value, only where it is not required.
      if (!rule.presented(presented))
        conditions.push({ column: rule.column, is: 'equal', value: 0 });
    } else if (rule.kind === 'bound') {
      const value = rule.presented(presented);
      conditions.push(
        value === undefined
          ? { column: rule.column, is: 'unbound' }
          : { column: rule.column, is: 'unbound-or-equal', value },
      );
    } else if (rule.presented(presented) !== undefined) return undefined;
  }
  return conditions;
}

/**
 * The same as `column = value` pairs, for a statement that writes only equalities; undefined when
 * a condition is not one (a `bound` rule, or a rule not written in SQL): then the request goes
 * the read-and-check way.
 */
export function sameValues<Stored, Presented, Reason, Column extends string>(
  rules: readonly SpendRule<Stored, Presented, Reason, Column>[],
  presented: Presented,
): readonly (readonly [Column, string | number])[] | undefined {
  const conditions = spendConditions(rules, presented);
  if (conditions === undefined) return undefined;
  const equalities: (readonly [Column, string | number])[] = [];
  for (const condition of conditions) {
    // A binding is not an equality: a caller that writes only equalities reads and checks.
    if (condition.is !== 'equal') return undefined;
    equalities.push([condition.column, condition.value]);
  }
  return equalities;
}
