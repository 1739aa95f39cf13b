import type { EnforcementLevel, PolicyPackConfig, ResourceValidationPolicy, StackValidationPolicy } from "@pulumi/policy";
import { FactName, StackFacts, factsSchema, requireFacts } from "./facts";
import { CheckedResource, StackResource, StackViolation, describe } from "./resources";
import { gpuPoolNodeMetadata, gpuPoolScalesToZero } from "./rules/gpuPool";
import { IMAGE_REFERENCE_INPUTS, IMAGE_TYPE, imageOciLabels, imageRegistry } from "./rules/images";
import { SERVICE_TYPE, sessionServiceExposure, turnServiceExposure } from "./rules/services";
import * as workloads from "./rules/workloads";

type Level = Extract<EnforcementLevel, "mandatory" | "advisory">;

/** A policy on single resources: the types it applies to, the stack facts it reads and its rule. */
export interface ResourcePolicyDefinition<F extends FactName = FactName> {
    kind: "resource";
    name: string;
    description: string;
    enforcementLevel: Level;
    types: readonly string[];
    facts: readonly F[];
    check(resource: CheckedResource, facts: Pick<StackFacts, F>): string[];
}

/** A policy on the whole stack. */
export interface StackPolicyDefinition<F extends FactName = FactName> {
    kind: "stack";
    name: string;
    description: string;
    enforcementLevel: Level;
    facts: readonly F[];
    check(resources: StackResource[], facts: Pick<StackFacts, F>): StackViolation[];
}

export type PolicyDefinition = ResourcePolicyDefinition<any> | StackPolicyDefinition<any>;

function workloadPolicy(name: string, description: string, rule: (w: workloads.Workload) => string[]): ResourcePolicyDefinition<never> {
    return {
        kind: "resource",
        name,
        description,
        enforcementLevel: "mandatory",
        types: workloads.WORKLOAD_TYPES,
        facts: [],
        check: (resource) => {
            const workload = workloads.asWorkload(resource);
            return workload ? rule(workload) : [];
        },
    };
}

/** Every policy of the pack, in the order docs/policies.md lists them. */
export const POLICY_DEFINITIONS: readonly PolicyDefinition[] = [
    workloadPolicy("workload-image-digest", "Workload containers reference their images by digest (repository@sha256:...).", workloads.imageDigest),
    workloadPolicy("workload-run-as-non-root", "Workload containers set runAsNonRoot and never run as uid 0.", workloads.runAsNonRoot),
    workloadPolicy("workload-no-privilege-escalation", "Workload containers are not privileged and set allowPrivilegeEscalation: false.", workloads.noPrivilegeEscalation),
    workloadPolicy("workload-capabilities-dropped", "Workload containers drop ALL capabilities (adding back at most NET_BIND_SERVICE).", workloads.capabilitiesDropped),
    workloadPolicy("workload-seccomp-runtime-default", "Workload containers run under the RuntimeDefault seccomp profile.", workloads.seccompRuntimeDefault),
    workloadPolicy("workload-resources", "Workload containers set CPU and memory requests and limits.", workloads.resourceBounds),
    workloadPolicy("workload-gpu-tolerations", "Containers that ask for nvidia.com/gpu limit it to a whole number and their pod tolerates the GPU pool's taint.", workloads.gpuTolerations),
    {
        kind: "resource",
        name: "workload-session-shm",
        description: `Session containers mount a memory-backed /dev/shm with a sizeLimit of at least ${workloads.MIN_SESSION_SHM}.`,
        enforcementLevel: "mandatory",
        types: workloads.WORKLOAD_TYPES,
        facts: ["sessionImages"],
        check: (resource, facts) => {
            const workload = workloads.asWorkload(resource);
            return workload ? workloads.sessionShm(workload, facts) : [];
        },
    } satisfies ResourcePolicyDefinition<"sessionImages">,
    workloadPolicy("workload-host-namespaces", "Pods do not use hostNetwork, hostPID or hostIPC.", workloads.hostNamespaces),
    {
        kind: "resource",
        name: "service-session-exposure",
        description: "Services do not expose session ports through LoadBalancer or NodePort unless the stack sets policyAllowPublicSessionServices.",
        enforcementLevel: "mandatory",
        types: [SERVICE_TYPE],
        facts: ["stack", "allowPublicSessionServices", "sessionPorts"],
        check: sessionServiceExposure,
    } satisfies ResourcePolicyDefinition<"stack" | "allowPublicSessionServices" | "sessionPorts">,
    {
        kind: "resource",
        name: "service-turn-exposure",
        description: "Services that expose the TURN relay through LoadBalancer or NodePort are flagged unless the stack sets policyAllowPublicSessionServices.",
        enforcementLevel: "advisory",
        types: [SERVICE_TYPE],
        facts: ["stack", "allowPublicSessionServices", "turnPorts"],
        check: turnServiceExposure,
    } satisfies ResourcePolicyDefinition<"stack" | "allowPublicSessionServices" | "turnPorts">,
    {
        kind: "resource",
        name: "image-registry",
        description: "Images (docker.Image, docker.Tag, docker.RegistryImage) go to the stack's registryServer under its registryOwner.",
        enforcementLevel: "mandatory",
        types: Object.keys(IMAGE_REFERENCE_INPUTS),
        facts: ["stack", "registryServer", "registryOwner"],
        check: imageRegistry,
    } satisfies ResourcePolicyDefinition<"stack" | "registryServer" | "registryOwner">,
    {
        kind: "resource",
        name: "image-oci-labels",
        description: "Every docker.Image is built with the OCI_* build arguments that set the standard org.opencontainers.image.* labels.",
        enforcementLevel: "mandatory",
        types: [IMAGE_TYPE],
        facts: [],
        check: imageOciLabels,
    } satisfies ResourcePolicyDefinition<never>,
    {
        kind: "stack",
        name: "gpu-pool-node-metadata",
        description: "GPU node pools keep the node's credentials from pods: an EKS node group's launch template requires IMDSv2 with hop limit 1, a GKE node pool runs the GKE metadata server (GKE_METADATA).",
        enforcementLevel: "mandatory",
        facts: [],
        check: gpuPoolNodeMetadata,
    } satisfies StackPolicyDefinition<never>,
    {
        kind: "stack",
        name: "gpu-pool-scales-to-zero",
        description: "Outside prod, the GPU node pool scales to zero (gpuMinNodes 0) unless the stack sets policyAllowWarmGpuNodes.",
        enforcementLevel: "advisory",
        facts: ["stack", "production", "allowWarmGpuNodes"],
        check: gpuPoolScalesToZero,
    } satisfies StackPolicyDefinition<"stack" | "production" | "allowWarmGpuNodes">,
];

function resourcePolicy(def: ResourcePolicyDefinition): ResourceValidationPolicy {
    return {
        name: def.name,
        description: def.description,
        enforcementLevel: def.enforcementLevel,
        ...(def.facts.length > 0 ? { configSchema: factsSchema(def.facts) } : {}),
        validateResource: (args, reportViolation) => {
            if (!def.types.includes(args.type)) return;
            const given = def.facts.length > 0 ? requireFacts(args.getConfig<Partial<StackFacts>>(), def.facts) : { facts: {} as StackFacts };
            if (given.facts === undefined) {
                reportViolation(`${describe(args)}: ${given.missing}`);
                return;
            }
            for (const message of def.check({ type: args.type, name: args.name, props: args.props }, given.facts)) reportViolation(message);
        },
    };
}

function stackPolicy(def: StackPolicyDefinition): StackValidationPolicy {
    return {
        name: def.name,
        description: def.description,
        enforcementLevel: def.enforcementLevel,
        ...(def.facts.length > 0 ? { configSchema: factsSchema(def.facts) } : {}),
        validateStack: (args, reportViolation) => {
            const given = requireFacts(args.getConfig<Partial<StackFacts>>(), def.facts);
            if (given.facts === undefined) {
                reportViolation(given.missing);
                return;
            }
            const resources = args.resources.map((r) => ({
                type: r.type,
                name: r.name,
                urn: r.urn,
                props: r.props,
                propertyDependencies: Object.fromEntries(Object.entries(r.propertyDependencies).map(([k, deps]) => [k, deps.map((d) => d.urn)])),
            }));
            for (const v of def.check(resources, given.facts)) reportViolation(v.message, v.urn);
        },
    };
}

/** The policies as @pulumi/policy runs them. */
export const POLICIES: (ResourceValidationPolicy | StackValidationPolicy)[] = POLICY_DEFINITIONS.map((def) =>
    def.kind === "resource" ? resourcePolicy(def) : stackPolicy(def),
);

/**
 * The pack's configuration for one stack (the JSON `--policy-pack-config` reads): each policy that
 * reads stack facts gets exactly those it declares.
 */
export function policyPackConfig(facts: StackFacts): PolicyPackConfig {
    const config: PolicyPackConfig = {};
    for (const def of POLICY_DEFINITIONS) {
        if (def.facts.length === 0) continue;
        config[def.name] = Object.fromEntries(def.facts.map((f: FactName) => [f, facts[f]]));
    }
    return config;
}
