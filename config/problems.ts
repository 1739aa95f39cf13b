import * as pulumi from "@pulumi/pulumi";

/** One thing wrong with the stack configuration, said so that a person can fix it. */
export interface Problem {
    /** The config key without the project prefix, e.g. `imageTag`. */
    key: string;
    /** The value as written; undefined when the key is missing. Secret values are never shown. */
    value?: string;
    /** What is wrong and what is allowed. */
    message: string;
    /** A command that fixes it. */
    fix: string;
}

/**
 * Thrown before any resource is registered when the stack configuration is wrong.
 * A RunError makes Pulumi print the message alone, without a stack trace of the program.
 */
export class ConfigError extends pulumi.RunError {
    constructor(readonly stack: string, readonly problems: Problem[]) {
        super(formatProblems(stack, problems));
        this.name = "ConfigError";
    }
}

export function formatProblems(stack: string, problems: Problem[]): string {
    const lines = [
        `The configuration of stack '${stack}' has ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was created or changed:`,
    ];
    problems.forEach((p, i) => {
        const shown = p.value === undefined ? "(not set)" : JSON.stringify(p.value);
        lines.push(`  ${i + 1}. ${PROJECT}:${p.key} = ${shown}: ${p.message}`);
        lines.push(`     Fix: ${p.fix}`);
    });
    return lines.join("\n");
}

export const PROJECT = "streamspace-images";

/**
 * A word as a POSIX shell reads it back unchanged: plain when it is made of safe characters, else in
 * single quotes. A placeholder such as <token> is quoted too: pasted bare, the shell would take it
 * for a redirection.
 */
export function shellQuote(value: string): string {
    return /^[A-Za-z0-9_@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

function editDistance(a: string, b: string): number {
    const row = Array.from({ length: b.length + 1 }, (_, i) => i);
    for (let i = 1; i <= a.length; i++) {
        let previous = row[0];
        row[0] = i;
        for (let j = 1; j <= b.length; j++) {
            const current = row[j];
            row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
            previous = current;
        }
    }
    return row[b.length];
}

/**
 * The candidate closest to WORD, when it is close: at most one edit per four characters (one for
 * short words). A suggestion that is not close misleads more than no suggestion.
 */
export function closest(key: string, candidates: readonly string[]): string | undefined {
    let best: string | undefined;
    let bestDistance = Infinity;
    for (const c of candidates) {
        const d = editDistance(key.toLowerCase(), c.toLowerCase());
        if (d < bestDistance) {
            best = c;
            bestDistance = d;
        }
    }
    return bestDistance <= Math.max(1, Math.floor(key.length / 4)) ? best : undefined;
}
