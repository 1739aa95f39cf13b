import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/** The top-level keys of a Pulumi stack file; the settings of a program live under `config:`. */
const STACK_FILE_KEYS = ["config", "secretsprovider", "encryptedkey", "encryptionsalt", "environment"];

export interface StackFileConfig {
    /** The config as the Pulumi CLI hands it to a program: strings, with JSON text for the rest. */
    raw: Record<string, string>;
    /** The full keys whose values are encrypted (`{secure: ...}`), as the CLI tells a program. */
    secretKeys: Set<string>;
}

/**
 * Top-level keys of a stack file that the Pulumi CLI does not read: settings written without the
 * `config:` wrapper, which would be ignored without a word.
 */
export function misplacedStackFileKeys(doc: unknown): string[] {
    if (doc === null || typeof doc !== "object" || Array.isArray(doc)) return [];
    return Object.keys(doc).filter((k) => !STACK_FILE_KEYS.includes(k));
}

/** Why a stack file with misplaced keys is refused, and how to fix it. */
export function misplacedKeysMessage(file: string, misplaced: string[]): string {
    return `${file}: ${misplaced.map((k) => `'${k}'`).join(", ")} ${misplaced.length === 1 ? "is" : "are"} at the top level, where the Pulumi CLI does not read settings, so ${misplaced.length === 1 ? "it" : "they"} would be ignored: indent ${misplaced.length === 1 ? "it" : "them"} under 'config:' (see Pulumi.dev.yaml)`;
}

/**
 * The config of a stack file (Pulumi.<stack>.yaml in root) as the Pulumi CLI hands it to a program.
 * Encrypted values cannot be read without the stack's key; `secretStandIn` takes their place, so
 * that a key that must be set is set. A file with settings outside `config:` is refused.
 */
export function readStackFileConfig(stack: string, root: string, secretStandIn: string): StackFileConfig {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(root).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter(Boolean);
        throw new Error(`there is no stack file Pulumi.${stack}.yaml; the stacks are: ${stacks.join(", ")}`);
    }
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const misplaced = misplacedStackFileKeys(doc);
    if (misplaced.length > 0) throw new Error(misplacedKeysMessage(`Pulumi.${stack}.yaml`, misplaced));
    const raw: Record<string, string> = {};
    const secretKeys = new Set<string>();
    for (const [key, value] of Object.entries(doc.config ?? {})) {
        raw[key] = encodeConfigValue(value, secretStandIn);
        if (isEncrypted(value)) secretKeys.add(key);
    }
    return { raw, secretKeys };
}

/** The config of a stack file, as readStackFileConfig reads it, without the secret keys. */
export function readStackFile(stack: string, root: string, secretStandIn: string): Record<string, string> {
    return readStackFileConfig(stack, root, secretStandIn).raw;
}

function isEncrypted(value: unknown): boolean {
    return value !== null && typeof value === "object" && "secure" in value;
}

/** One config value as a program receives it: a string as is, `{secure: ...}` as the stand-in, JSON otherwise. */
export function encodeConfigValue(value: unknown, secretStandIn: string): string {
    if (typeof value === "string") return value;
    if (isEncrypted(value)) return secretStandIn;
    return JSON.stringify(value);
}
