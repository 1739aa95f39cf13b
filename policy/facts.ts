import type { PolicyConfigSchema } from "@pulumi/policy";

/** A named port of an image (from its image.yaml). */
export interface NamedPort {
    name: string;
    port: number;
}

/**
 * What the policies need to know about the stack being previewed that its resources do not say:
 * the registry images must go to, the stack's exceptions, and which images and ports are session
 * ones. scripts/policy-config.ts derives them from the stack file and the catalog and hands them to
 * the pack as its policy configuration (`--policy-pack-config`).
 */
export interface StackFacts {
    /** The stack, for the fix commands in messages. */
    stack: string;
    /** The production stack (`prod`): cost advisories do not apply there. */
    production: boolean;
    /** `registryServer` of the stack, e.g. ghcr.io. */
    registryServer: string;
    /** `registryOwner` of the stack, e.g. streamspace-dev. */
    registryOwner: string;
    /** `policyAllowPublicSessionServices` of the stack. */
    allowPublicSessionServices: boolean;
    /** `policyAllowWarmGpuNodes` of the stack. */
    allowWarmGpuNodes: boolean;
    /** Catalog names of the images that run a desktop session (session and base images, flavours included). */
    sessionImages: string[];
    /** Ports those images serve (Selkies, VNC, noVNC, KasmVNC). */
    sessionPorts: NamedPort[];
    /** Ports of the TURN relay image. */
    turnPorts: NamedPort[];
}

export type FactName = keyof StackFacts;

type JsonSchema = PolicyConfigSchema["properties"][string];

const namedPorts: JsonSchema = {
    type: "array",
    items: {
        type: "object",
        properties: { name: { type: "string" }, port: { type: "integer" } },
        required: ["name", "port"],
    },
};

/** The JSON schema of each fact, as a policy's configSchema declares it. */
export const FACT_SCHEMAS: Record<FactName, JsonSchema> = {
    stack: { type: "string", description: "The stack previewed." },
    production: { type: "boolean", description: "Whether the stack is the production stack." },
    registryServer: { type: "string", description: "Registry host images are pushed to (registryServer)." },
    registryOwner: { type: "string", description: "Namespace under the registry (registryOwner)." },
    allowPublicSessionServices: { type: "boolean", description: "The stack's policyAllowPublicSessionServices." },
    allowWarmGpuNodes: { type: "boolean", description: "The stack's policyAllowWarmGpuNodes." },
    sessionImages: { type: "array", items: { type: "string" }, description: "Catalog names of session and base images." },
    sessionPorts: { ...namedPorts, description: "Ports of session images." },
    turnPorts: { ...namedPorts, description: "Ports of the TURN relay image." },
};

/** The configSchema of a policy that reads these facts. */
export function factsSchema(facts: readonly FactName[]): PolicyConfigSchema {
    return { properties: Object.fromEntries(facts.map((f) => [f, FACT_SCHEMAS[f]])) };
}

/** The command that makes the pack's configuration, as messages quote it. */
export function policyConfigCommand(stack = "<stack>"): string {
    return `node -r ts-node/register/transpile-only scripts/policy-config.ts ${stack} > artifacts/policy-config.json, then pulumi preview --stack ${stack} --policy-pack policy --policy-pack-config artifacts/policy-config.json`;
}

/**
 * The facts a policy needs, or a message naming those that are missing: a pack run without its
 * configuration cannot tell a compliant resource from a violating one, so it says so instead.
 */
export function requireFacts<F extends FactName>(
    given: Partial<StackFacts>,
    needed: readonly F[],
): { facts: Pick<StackFacts, F>; missing?: undefined } | { facts?: undefined; missing: string } {
    const absent = needed.filter((f) => given[f] === undefined);
    if (absent.length === 0) return { facts: given as Pick<StackFacts, F> };
    return {
        missing: `the policy pack was run without the stack facts ${absent.join(", ")}, so it cannot judge this resource. Fix: generate the pack's configuration from the stack file: ${policyConfigCommand(given.stack)}`,
    };
}
