/**
 * What a rule sees of one resource: its type token, its Pulumi name and its inputs (`props`), as
 * @pulumi/policy hands them over. During `pulumi preview` a value that is not known yet (a digest
 * that only exists after the push) throws when read; the framework then reports that the policy
 * could not run on that resource during preview, and the policy runs again on `pulumi up`. Rules
 * therefore read only the fields they judge.
 */
export interface CheckedResource {
    type: string;
    name: string;
    props: Record<string, any>;
}

/** A resource of the stack as a stack policy sees it (its outputs, and its URN to report against). */
export interface StackResource extends CheckedResource {
    urn: string;
    /**
     * For each input property, the URNs of the stack's resources whose outputs it was built from, as
     * the engine records them: known during preview, before any id is.
     */
    propertyDependencies?: Record<string, string[]>;
}

/** A violation of a stack policy, reported against one resource. */
export interface StackViolation {
    message: string;
    urn?: string;
}

/** `Deployment "session-test-session"`, `docker.Image "chrome-selkies"`: how messages name a resource. */
export function describe(resource: { type: string; name: string }): string {
    const [pkg, , kind] = resource.type.split(":");
    return `${pkg === "kubernetes" ? kind : `${pkg}.${kind}`} "${resource.name}"`;
}

/** One message: where, what is wrong, and how to fix it. */
export function violation(where: string, what: string, fix: string): string {
    return `${where}: ${what}. Fix: ${fix}`;
}
