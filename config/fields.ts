import { z } from "zod";

// Pulumi hands every config value to the program as a string: plain strings as they are, numbers,
// booleans and lists as JSON text. These field types accept both that text and real JSON values
// (what tests pass), and reject anything else with a message that says what was expected.

function parseJsonText(value: unknown): unknown {
    if (typeof value !== "string") return value;
    try {
        return JSON.parse(value);
    } catch {
        return value;
    }
}

export function integer(opts: { min?: number; max?: number } = {}) {
    let schema = z.number({ invalid_type_error: "expected a whole number" }).int("expected a whole number");
    if (opts.min !== undefined) schema = schema.min(opts.min, `must be at least ${opts.min}`);
    if (opts.max !== undefined) schema = schema.max(opts.max, `must be at most ${opts.max}`);
    return z.preprocess((v) => (typeof v === "string" && /^-?\d+$/.test(v.trim()) ? Number(v) : v), schema);
}

export function boolean() {
    return z.preprocess(
        (v) => (v === "true" ? true : v === "false" ? false : v),
        z.boolean({ invalid_type_error: "expected true or false" }),
    );
}

export function stringList<T extends z.ZodTypeAny>(item: T) {
    return z.preprocess(
        parseJsonText,
        z.array(item, { invalid_type_error: "expected a list, e.g. [a, b] in the stack file" }),
    );
}

/** A map from names to values, e.g. one value per GitHub Environment: `{staging: a, prod: b}`. */
export function stringMap<T extends z.ZodTypeAny>(item: T) {
    return z.preprocess(
        parseJsonText,
        z.record(z.string(), item, { invalid_type_error: "expected a map of names to values, e.g. {staging: a, prod: b} in the stack file" }),
    );
}

export function text() {
    return z.string({ invalid_type_error: "expected a string" });
}

/** A Kubernetes resource quantity such as 500m, 2, 4Gi. */
export const quantity = text().regex(
    /^([0-9]+(\.[0-9]+)?)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$/,
    "expected a Kubernetes quantity such as 500m, 2, 512Mi or 4Gi",
);

/** Converts a Kubernetes quantity to a plain number (bytes or cores) so that sizes can be compared. */
export function quantityValue(q: string): number {
    const match = /^([0-9]+(?:\.[0-9]+)?)([a-zA-Z]*)$/.exec(q);
    if (!match) return NaN;
    const factors: Record<string, number> = {
        "": 1, m: 1e-3, k: 1e3, M: 1e6, G: 1e9, T: 1e12, P: 1e15, E: 1e18,
        Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30, Ti: 2 ** 40, Pi: 2 ** 50, Ei: 2 ** 60,
    };
    const factor = factors[match[2]];
    return factor === undefined ? NaN : Number(match[1]) * factor;
}
