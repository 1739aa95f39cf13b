import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";

/**
 * The config of a stack file (Pulumi.<stack>.yaml in root) as the Pulumi CLI hands it to a program:
 * strings, with JSON text for the rest. Encrypted values cannot be read without the stack's key;
 * `secretStandIn` takes their place, so that a key that must be set is set.
 */
export function readStackFile(stack: string, root: string, secretStandIn: string): Record<string, string> {
    const file = path.join(root, `Pulumi.${stack}.yaml`);
    if (!fs.existsSync(file)) {
        const stacks = fs.readdirSync(root).map((f) => /^Pulumi\.(.+)\.yaml$/.exec(f)?.[1]).filter(Boolean);
        throw new Error(`there is no stack file Pulumi.${stack}.yaml; the stacks are: ${stacks.join(", ")}`);
    }
    const doc = (parse(fs.readFileSync(file, "utf8")) ?? {}) as { config?: Record<string, unknown> };
    const raw: Record<string, string> = {};
    for (const [key, value] of Object.entries(doc.config ?? {})) raw[key] = encodeConfigValue(value, secretStandIn);
    return raw;
}

/** One config value as a program receives it: a string as is, `{secure: ...}` as the stand-in, JSON otherwise. */
export function encodeConfigValue(value: unknown, secretStandIn: string): string {
    if (typeof value === "string") return value;
    if (value !== null && typeof value === "object" && "secure" in value) return secretStandIn;
    return JSON.stringify(value);
}
