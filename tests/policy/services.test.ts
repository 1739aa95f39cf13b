import { assertNoViolation, assertOneViolation } from "./assertions";
import { CONFIG, configWith, service } from "./fixtures";
import { resourceViolations } from "./policyArgsAdapter";

describe("policy: services", () => {
    const selkies = { name: "selkies", port: 8080, targetPort: "selkies", protocol: "TCP" };

    describe("service-session-exposure (mandatory)", () => {
        it("accepts a ClusterIP Service of the session ports (the program's)", async () => {
            assertNoViolation(await resourceViolations("service-session-exposure", service({ type: "ClusterIP", ports: [selkies] }), CONFIG));
        });
        it("refuses a LoadBalancer on the Selkies port, with the stack key that would allow it", async () => {
            const v = await resourceViolations("service-session-exposure", service({ type: "LoadBalancer", ports: [selkies] }), CONFIG);
            assertOneViolation(v, 'Service "session"', /type LoadBalancer and exposes the session port 8080 \(selkies\)/, /ClusterIP.*pulumi config set policyAllowPublicSessionServices true --stack test/);
        });
        it("refuses a NodePort that reaches noVNC through its target port name", async () => {
            const v = await resourceViolations("service-session-exposure", service({ type: "NodePort", ports: [{ port: 80, targetPort: "novnc" }] }, "web"), CONFIG);
            assertOneViolation(v, 'Service "web"', /NodePort and exposes the session port 80 \(novnc\)/, /ClusterIP/);
        });
        it("accepts a LoadBalancer of other ports, and any exposure where the stack allows it", async () => {
            assertNoViolation(await resourceViolations("service-session-exposure", service({ type: "LoadBalancer", ports: [{ port: 443, targetPort: 8443 }] }), CONFIG));
            assertNoViolation(await resourceViolations("service-session-exposure", service({ type: "LoadBalancer", ports: [selkies] }), configWith({ allowPublicSessionServices: true })));
        });
    });

    describe("service-turn-exposure (advisory)", () => {
        const turn = { type: "LoadBalancer", ports: [{ name: "turn-udp", port: 3478, targetPort: "turn-udp", protocol: "UDP" }] };
        it("flags a TURN relay on a LoadBalancer, unless the stack allows public session services", async () => {
            const v = await resourceViolations("service-turn-exposure", service(turn, "turn"), CONFIG);
            assertOneViolation(v, 'Service "turn"', /exposes the TURN relay on 3478 \(turn-udp\)/, /kubectl port-forward.*policyAllowPublicSessionServices true --stack test/);
            assertNoViolation(await resourceViolations("service-turn-exposure", service(turn, "turn"), configWith({ allowPublicSessionServices: true })));
        });
        it("leaves the TURN port to the advisory: the session policy does not refuse it", async () => {
            assertNoViolation(await resourceViolations("service-session-exposure", service(turn, "turn"), CONFIG));
            assertNoViolation(await resourceViolations("service-turn-exposure", service({ ...turn, type: "ClusterIP" }, "turn"), CONFIG));
        });
    });
});
