/**
 * The session-test namespace's NetworkPolicies as a pure builder: exact manifests, valid against
 * the Kubernetes schema, and the ranges a session must never reach.
 */
import { strict as assert } from "assert";
import { NetworkPolicy } from "kubernetes-models/networking.k8s.io/v1";
import { PRIVATE_IPV4, PRIVATE_IPV6, sessionNetworkPolicies } from "../../components/sessionNetwork";
import { isStrictSubset, parseCidr } from "../../config/cidr";
import { byType, runProgram } from "../harness";

const SESSION = { "app.kubernetes.io/component": "session" };
const PROBE = { "app.kubernetes.io/component": "probe" };
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
        // fd00:ec2::254 (EC2's IPv6 metadata) lies in fc00::/7. IPv4-mapped forms leave the pod as
        // IPv4, judged by PRIVATE_IPV4; the API server refuses ::ffff:0:0/96 in an IPv6 ipBlock.
        for (const cidr of ["fc00::/7", "fe80::/10", "::1/128"]) assert.ok(PRIVATE_IPV6.includes(cidr), cidr);
    });

    it("writes every ipBlock as the API server takes it: strict CIDR form, each except a strict subset of its cidr", async () => {
        const allowed = ["10.20.0.0/16", "fd12:3456::/48"];
        const built = sessionNetworkPolicies({ sessionLabels: SESSION, probeLabels: PROBE, allowedPrivateEgress: allowed }).map((p) => p.spec);
        // And what the program registers for a stack that allows private ranges.
        const run = await runProgram({ stack: "dev", config: { sessionTestAllowedPrivateEgress: allowed }, env: { GHCR_TOKEN: "test-double-token" } });
        assert.equal(run.error, undefined, run.error?.message);
        const registered = byType(run, "kubernetes:networking.k8s.io/v1:NetworkPolicy").map((r) => r.inputs.spec);
        assert.equal(registered.length, 3);
        const blocks = [...built, ...registered].flatMap((spec: any) =>
            [...(spec.egress ?? []).flatMap((r: any) => r.to ?? []), ...(spec.ingress ?? []).flatMap((r: any) => r.from ?? [])].flatMap((peer: any) =>
                peer.ipBlock ? [peer.ipBlock as { cidr: string; except?: string[] }] : [],
            ),
        );
        assert.ok(blocks.some((b) => b.cidr === "::/0") && blocks.some((b) => b.cidr === "fd12:3456::/48"), "no IPv6 ipBlock to judge");
        const refused: string[] = [];
        for (const block of blocks) {
            const cidr = parseCidr(block.cidr);
            if (typeof cidr === "string") {
                refused.push(`cidr ${block.cidr}: ${cidr}`);
                continue;
            }
            for (const except of block.except ?? []) {
                const inner = parseCidr(except);
                if (typeof inner === "string") refused.push(`except ${except} of ${block.cidr}: ${inner}`);
                else if (!isStrictSubset(cidr, inner)) refused.push(`except ${except}: not a strict subset of ${block.cidr}`);
            }
        }
        assert.deepEqual(refused, []);
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
