import * as fs from "fs";
import * as path from "path";
import { parse } from "yaml";
import { z } from "zod";
import { SECTIONS, declaredKeys } from "./index";

/** A key as Pulumi.yaml declares it. */
export interface DeclaredKey {
    key: string;
    type: "string" | "integer" | "boolean" | "array" | "object";
    default?: unknown;
    secret: boolean;
    description: string;
}

/** Reads the `config:` declarations of Pulumi.yaml. */
export function projectDeclarations(root: string): DeclaredKey[] {
    const project = parse(fs.readFileSync(path.join(root, "Pulumi.yaml"), "utf8")) as {
        config?: Record<string, { type: DeclaredKey["type"]; default?: unknown; secret?: boolean; description?: string }>;
    };
    return Object.entries(project.config ?? {}).map(([key, d]) => ({
        key,
        type: d.type,
        default: d.default,
        secret: d.secret === true,
        description: d.description ?? "",
    }));
}

/** The Pulumi.yaml type a zod field stands for. */
export function pulumiTypeOf(schema: z.ZodTypeAny): DeclaredKey["type"] | "unknown" {
    let s: z.ZodTypeAny = schema;
    for (;;) {
        if (s instanceof z.ZodDefault || s instanceof z.ZodOptional) s = s._def.innerType;
        else if (s instanceof z.ZodEffects) s = s._def.schema;
        else break;
    }
    if (s instanceof z.ZodString || s instanceof z.ZodEnum) return "string";
    if (s instanceof z.ZodNumber) return "integer";
    if (s instanceof z.ZodBoolean) return "boolean";
    if (s instanceof z.ZodArray) return "array";
    if (s instanceof z.ZodRecord) return "object";
    return "unknown";
}

/** The default a zod field gives an unset key; undefined when it has none. */
export function defaultOf(schema: z.ZodTypeAny): unknown {
    const result = schema.safeParse(undefined);
    return result.success ? result.data : undefined;
}

function cell(text: string): string {
    return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** The configuration reference of docs/configuration.md: one table per section, from Pulumi.yaml and config/. */
export function renderConfigReference(root: string): string {
    const declared = new Map(projectDeclarations(root).map((d) => [d.key, d]));
    const keys = new Map(declaredKeys().map((k) => [k.key, k]));
    const out: string[] = [];
    for (const [name, section] of Object.entries(SECTIONS)) {
        out.push(`#### ${name}`, "", "| Key | Type | Default | Example | Description |", "|-----|------|---------|---------|-------------|");
        for (const key of Object.keys(section.keys)) {
            const d = declared.get(key);
            const k = keys.get(key)!;
            const def = defaultOf(k.schema);
            const shownDefault = def === undefined ? "" : `\`${JSON.stringify(def)}\``;
            const type = `${d?.type ?? pulumiTypeOf(k.schema)}${k.secret ? " (secret)" : ""}`;
            const description = d?.description ?? (section.descriptions as Record<string, string> | undefined)?.[key] ?? "";
            out.push(`| \`${key}\` | ${type} | ${shownDefault} | \`${cell(k.example)}\` | ${cell(description)} |`);
        }
        out.push("");
    }
    return out.join("\n").trimEnd();
}

export const REFERENCE_START = "<!-- config-reference:start -->";
export const REFERENCE_END = "<!-- config-reference:end -->";

/** docs/configuration.md with the reference between its markers replaced. */
export function documentWithReference(doc: string, reference: string): string {
    const start = doc.indexOf(REFERENCE_START);
    const end = doc.indexOf(REFERENCE_END);
    if (start < 0 || end < start) throw new Error(`docs/configuration.md lacks the markers ${REFERENCE_START} ... ${REFERENCE_END}`);
    return `${doc.slice(0, start + REFERENCE_START.length)}\n${reference}\n${doc.slice(end)}`;
}
