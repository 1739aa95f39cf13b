/**
 * The session-test namespace's NetworkPolicies as a pure builder: exact manifests, valid against
 * the Kubernetes schema, and the ranges a session must never reach.
 */
import { strict as assert } from "assert";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PRIVATE_IPV4, PRIVATE_IPV6, sessionNetworkPolicies } from "../../components/sessionNetwork";

const SESSION = { "app.kubernetes.io/component": "session" };
const PROBE = { "app.kubernetes.io/component": "smoke-test" };
const DNS = {
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

describe("sessionNetworkPolicies", () => {
    it("denies everything by default, then opens probe <-> session, DNS, and the internet to the session only", () => {
        const policies = sessionNetworkPolicies({ sessionLabels: SESSION, probeLabels: PROBE, allowedPrivateEgress: [] });
        assert.deepEqual(policies, [
            { name: "default-deny", spec: { podSelector: {}, policyTypes: ["Ingress", "Egress"] } },
            {
                name: "session",
                spec: {
                    podSelector: { matchLabels: SESSION },
                    policyTypes: ["Ingress", "Egress"],
                    ingress: [{ from: [{ podSelector: { matchLabels: PROBE } }] }],
                    egress: [
                        { to: [{ podSelector: { matchLabels: PROBE } }] },
                        DNS,
                        {
                            to: [
                                { ipBlock: { cidr: "0.0.0.0/0", except: PRIVATE_IPV4 } },
                                { ipBlock: { cidr: "::/0", except: PRIVATE_IPV6 } },
                            ],
                        },
                    ],
                },
            },
            {
                name: "probe",
                spec: {
                    podSelector: { matchLabels: PROBE },
                    policyTypes: ["Ingress", "Egress"],
                    ingress: [{ from: [{ podSelector: { matchLabels: SESSION } }] }],
                    egress: [{ to: [{ podSelector: { matchLabels: SESSION } }] }, DNS],
                },
            },
        ]);
        for (const p of policies) {
            new NetworkPolicy({ metadata: { name: p.name, namespace: "t" }, spec: p.spec as any }).validate();
        }
    });

    it("closes the metadata endpoints, the cluster's ranges and loopback, IPv4 and IPv6", () => {
        for (const cidr of ["169.254.0.0/16", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10"]) assert.ok(PRIVATE_IPV4.includes(cidr), cidr);
        // fd00:ec2::254 (EC2's IPv6 metadata) lies in fc00::/7; IPv4-mapped forms in ::ffff:0:0/96.
        for (const cidr of ["fc00::/7", "fe80::/10", "::1/128", "::ffff:0:0/96"]) assert.ok(PRIVATE_IPV6.includes(cidr), cidr);
    });

    it("lets the session reach the private ranges the stack allows, and no more", () => {
        const [, session] = sessionNetworkPolicies({ sessionLabels: SESSION, probeLabels: PROBE, allowedPrivateEgress: ["10.20.0.0/16", "fd12:3456::/48"] });
        assert.deepEqual(session.spec.egress, [
            { to: [{ podSelector: { matchLabels: PROBE } }] },
            DNS,
            {
                to: [
                    { ipBlock: { cidr: "0.0.0.0/0", except: PRIVATE_IPV4 } },
                    { ipBlock: { cidr: "::/0", except: PRIVATE_IPV6 } },
                    { ipBlock: { cidr: "10.20.0.0/16" } },
                    { ipBlock: { cidr: "fd12:3456::/48" } },
                ],
            },
        ]);
    });
});
