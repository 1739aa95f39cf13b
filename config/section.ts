import { z } from "zod";
import { Problem } from "./problems";

/** What a section's semantic checks may look at, besides its own values. */
export interface SectionContext {
    stack: string;
    env: Readonly<Record<string, string | undefined>>;
    /** Names of every image in the catalog (variants included). */
    imageNames: readonly string[];
    /** Whether a key was written in the stack file (as opposed to taking its default). */
    isSet(key: string): boolean;
    /** Records a problem; `fix` defaults to setting the key to its documented example. */
    problem(p: { key: string; value?: unknown; message: string; fix?: string }): void;
    /** `pulumi config set <key> <example> --stack <stack>`, quoted for a POSIX shell. */
    setCommand(key: string, value?: string): string;
}

/**
 * One section of the stack configuration: its keys (a zod shape: types and defaults), an example
 * value for each key (used in fix commands and docs/configuration.md), and a builder that runs the checks
 * across keys and returns the typed section.
 */
export interface Section<S extends z.ZodRawShape, T> {
    keys: S;
    examples: { [K in keyof S]: string };
    /** Keys whose values are secrets: never echoed in messages. */
    secretKeys?: (keyof S)[];
    /**
     * What each key without a default means. Those keys are not declared in Pulumi.yaml, where a
     * declared key without a default is required on every stack; the others are described there.
     */
    descriptions?: { [K in keyof S]?: string };
    build(values: z.infer<z.ZodObject<S>>, ctx: SectionContext): T;
}

export function defineSection<S extends z.ZodRawShape, T>(section: Section<S, T>): Section<S, T> {
    return section;
}

export type { Problem };
