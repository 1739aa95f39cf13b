import type {
    PolicyPackConfig,
    PolicyResource,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
} from "@pulumi/policy";
import { POLICIES } from "../../policy/policies";

/**
 * Test adapter: builds the arguments @pulumi/policy passes to a policy's validateResource and
 * validateStack (type, name, URN, inputs, the policy's own configuration), so that the tests run the
 * pack's real policies on plain resources and on those the program registers under mocks, without
 * the Pulumi CLI and the pack's gRPC server. Only what the pack's policies read is filled in.
 */

/** A resource as the tests hand it over: the harness's registered resources (inputs) or a fixture (props). */
export interface AdaptedResource {
    type: string;
    name: string;
    props?: Record<string, any>;
    inputs?: Record<string, any>;
    /** Its URN; urnOf(resource) when absent. */
    urn?: string;
    /** For each input property, the URNs of the resources it was built from (the harness records them). */
    propertyDependencies?: Record<string, string[]>;
}

const STACK = "test";

export function urnOf(resource: { type: string; name: string }): string {
    return `urn:pulumi:${STACK}::streamspace-images::${resource.type}::${resource.name}`;
}

function configOf(config: PolicyPackConfig, policyName: string) {
    return <T extends object>(): T => {
        const c = config[policyName];
        if (!c || typeof c === "string") return {} as T;
        const { enforcementLevel: _level, ...properties } = c;
        return properties as T;
    };
}

function notApplicable(reason?: string): never {
    throw new Error(`the policy marked itself not applicable (${reason ?? "no reason"}); the pack's policies never do`);
}

function unsupported(what: string): never {
    throw new Error(`${what} is not provided by the test adapter; the pack's policies do not use it`);
}

export function resourceValidationArgs(resource: AdaptedResource, config: PolicyPackConfig, policyName: string): ResourceValidationArgs {
    return {
        type: resource.type,
        name: resource.name,
        urn: urnOf(resource),
        props: resource.props ?? resource.inputs ?? {},
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        stackTags: new Map(),
        isType: () => unsupported("isType"),
        asType: () => unsupported("asType"),
        getConfig: configOf(config, policyName),
        notApplicable,
    };
}

export function stackValidationArgs(resources: AdaptedResource[], config: PolicyPackConfig, policyName: string): StackValidationArgs {
    const policyResources: PolicyResource[] = resources.map((r) => ({
        type: r.type,
        name: r.name,
        urn: r.urn ?? urnOf(r),
        props: r.props ?? r.inputs ?? {},
        opts: { protect: false, ignoreChanges: [], aliases: [], customTimeouts: { createSeconds: 0, updateSeconds: 0, deleteSeconds: 0 }, additionalSecretOutputs: [] },
        dependencies: [],
        propertyDependencies: {},
        isType: () => unsupported("isType"),
        asType: () => unsupported("asType"),
    }));
    // As @pulumi/policy does: URNs become the stack's resource objects, URNs of no resource are dropped.
    const byUrn = new Map(policyResources.map((r) => [r.urn, r]));
    resources.forEach((r, i) => {
        for (const [property, urns] of Object.entries(r.propertyDependencies ?? {})) {
            policyResources[i].propertyDependencies[property] = urns.flatMap((urn) => byUrn.get(urn) ?? []);
        }
    });
    return { resources: policyResources, stackTags: new Map(), getConfig: configOf(config, policyName), notApplicable };
}

export interface ReportedViolation {
    policy: string;
    message: string;
    urn?: string;
}

export function policyNamed(name: string): ResourceValidationPolicy | StackValidationPolicy {
    const found = POLICIES.find((p) => p.name === name);
    if (!found) throw new Error(`the pack has no policy named ${name}; it has ${POLICIES.map((p) => p.name).join(", ")}`);
    return found;
}

/** Runs one resource policy on one resource, as @pulumi/policy would, and returns what it reported. */
export async function resourceViolations(policyName: string, resource: AdaptedResource, config: PolicyPackConfig = {}): Promise<ReportedViolation[]> {
    const policy = policyNamed(policyName);
    if (!("validateResource" in policy) || !policy.validateResource) throw new Error(`${policyName} is not a resource policy`);
    const out: ReportedViolation[] = [];
    const validations = Array.isArray(policy.validateResource) ? policy.validateResource : [policy.validateResource];
    for (const validate of validations) {
        await validate(resourceValidationArgs(resource, config, policyName), (message, urn) => out.push({ policy: policyName, message, urn: urn ?? urnOf(resource) }));
    }
    return out;
}

/** Runs one stack policy on a stack's resources, as @pulumi/policy would, and returns what it reported. */
export async function stackViolations(policyName: string, resources: AdaptedResource[], config: PolicyPackConfig = {}): Promise<ReportedViolation[]> {
    const policy = policyNamed(policyName);
    if (!("validateStack" in policy)) throw new Error(`${policyName} is not a stack policy`);
    const out: ReportedViolation[] = [];
    await policy.validateStack(stackValidationArgs(resources, config, policyName), (message, urn) => out.push({ policy: policyName, message, urn }));
    return out;
}
