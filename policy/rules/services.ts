import { NamedPort, StackFacts } from "../facts";
import { CheckedResource, describe, violation } from "../resources";

export const SERVICE_TYPE = "kubernetes:core/v1:Service";

/** Service types that make a port reachable from outside the cluster. */
const EXTERNAL_TYPES = ["LoadBalancer", "NodePort"];

/** The ports of a Service that reach one of `ports` (by number, or by target port name). */
function exposedPorts(service: Record<string, any>, ports: NamedPort[]): string[] {
    const found: string[] = [];
    for (const p of (service.spec?.ports ?? []) as any[]) {
        const target = p.targetPort ?? p.port;
        const match = ports.find((known) => known.name === target) ?? ports.find((known) => known.port === p.port || known.port === target);
        if (match) found.push(`${p.port} (${match.name})`);
    }
    return found;
}

function externalType(resource: CheckedResource): string | undefined {
    const type = resource.props.spec?.type;
    return EXTERNAL_TYPES.includes(type) ? type : undefined;
}

/** Session ports (the desktop, VNC) stay inside the cluster unless the stack explicitly allows otherwise. */
export function sessionServiceExposure(
    resource: CheckedResource,
    facts: Pick<StackFacts, "stack" | "allowPublicSessionServices" | "sessionPorts">,
): string[] {
    if (resource.type !== SERVICE_TYPE || facts.allowPublicSessionServices) return [];
    const type = externalType(resource);
    if (!type) return [];
    const exposed = exposedPorts(resource.props, facts.sessionPorts);
    if (exposed.length === 0) return [];
    return [
        violation(
            describe(resource),
            `is of type ${type} and exposes the session port${exposed.length > 1 ? "s" : ""} ${exposed.join(", ")} outside the cluster, where anyone who finds the address can try the desktop's password`,
            `make it type ClusterIP and reach sessions through StreamSpace or kubectl port-forward; if a public session is intended and protected (TLS, authentication in front), allow it with: pulumi config set policyAllowPublicSessionServices true --stack ${facts.stack}`,
        ),
    ];
}

/** A TURN relay outside the cluster is advisory: sometimes wanted, always worth a second look. */
export function turnServiceExposure(
    resource: CheckedResource,
    facts: Pick<StackFacts, "stack" | "allowPublicSessionServices" | "turnPorts">,
): string[] {
    if (resource.type !== SERVICE_TYPE || facts.allowPublicSessionServices) return [];
    const type = externalType(resource);
    if (!type) return [];
    const exposed = exposedPorts(resource.props, facts.turnPorts);
    if (exposed.length === 0) return [];
    return [
        violation(
            describe(resource),
            `is of type ${type} and exposes the TURN relay on ${exposed.join(", ")}: a public relay is abused for traffic unless its credentials stay secret and it refuses private and link-local peers`,
            `keep it ClusterIP and watch through kubectl port-forward (docs/session-test.md, "Watch the test session"); if a public relay is intended, confirm it with: pulumi config set policyAllowPublicSessionServices true --stack ${facts.stack}`,
        ),
    ];
}
