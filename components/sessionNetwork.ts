import * as k8s from "@pulumi/kubernetes";

/**
 * Address ranges a session must not reach unless the stack allows them: the cluster's pods and
 * services and the nodes (private and carrier-grade NAT ranges), and the link-local ranges that
 * hold the clouds' instance metadata endpoints (169.254.169.254, fd00:ec2::254 sits in fc00::/7).
 */
export const PRIVATE_IPV4 = ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "169.254.0.0/16", "127.0.0.0/8"];
/**
 * No IPv4-mapped range (::ffff:0:0/96): a connection to ::ffff:a.b.c.d leaves the pod as IPv4 to
 * a.b.c.d, which PRIVATE_IPV4 already excepts, and the API server refuses the range in an IPv6
 * ipBlock (it reads it as IPv4: not a subset of ::/0), so the whole policy would fail to apply.
 */
export const PRIVATE_IPV6 = ["fc00::/7", "fe80::/10", "::1/128"];

export interface SessionNetworkArgs {
    /** Labels of the session pod (the browser the user drives, and its TURN relay). */
    sessionLabels: Record<string, string>;
    /** Labels of the probe's pods. */
    probeLabels: Record<string, string>;
    /** Private ranges the session may reach all the same (an internal proxy, a package mirror). */
    allowedPrivateEgress: string[];
}

export interface NamedPolicy {
    name: string;
    spec: k8s.types.input.networking.v1.NetworkPolicySpec;
}

/** The cluster's DNS (kube-dns / CoreDNS in kube-system), on port 53 over UDP and TCP. */
const DNS: k8s.types.input.networking.v1.NetworkPolicyEgressRule = {
    to: [
        {
            namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "kube-system" } },
            podSelector: { matchLabels: { "k8s-app": "kube-dns" } },
        },
    ],
    ports: [
        { protocol: "UDP", port: 53 },
        { protocol: "TCP", port: 53 },
    ],
};

/**
 * The NetworkPolicies of the session-test namespace: nothing in or out by default; the probe and
 * the session reach each other on every port (HTTP, and the UDP ports ICE picks for WebRTC); the
 * session reaches the internet but not the cluster's private ranges or the metadata endpoints; the
 * probe reaches the session and DNS only. The watcher's `kubectl port-forward` enters the pod
 * through the kubelet, not the pod network, so no rule is needed for it; the TURN relay runs in
 * the session pod and its peers are limited by coturn itself.
 */
export function sessionNetworkPolicies(args: SessionNetworkArgs): NamedPolicy[] {
    const session = { podSelector: { matchLabels: args.sessionLabels } };
    const probe = { podSelector: { matchLabels: args.probeLabels } };
    const internet: k8s.types.input.networking.v1.NetworkPolicyEgressRule = {
        to: [
            { ipBlock: { cidr: "0.0.0.0/0", except: PRIVATE_IPV4 } },
            { ipBlock: { cidr: "::/0", except: PRIVATE_IPV6 } },
            ...args.allowedPrivateEgress.map((cidr) => ({ ipBlock: { cidr } })),
        ],
    };
    return [
        { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
        {
            name: "session",
            spec: {
                ...session,
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: [probe] }],
                egress: [{ to: [probe] }, DNS, internet],
            },
        },
        {
            name: "probe",
            spec: {
                ...probe,
                policyTypes: ["Ingress", "Egress"],
                ingress: [{ from: [session] }],
                egress: [{ to: [session] }, DNS],
            },
        },
    ];
}
