import { strict as assert } from "assert";
import { ReportedViolation } from "./policyArgsAdapter";

/** Exactly one violation, naming the resource, what is wrong and (after "Fix:") how to fix it. */
export function assertOneViolation(violations: ReportedViolation[], where: string, what: RegExp, fix: RegExp): ReportedViolation {
    assert.equal(violations.length, 1, `expected one violation, got ${violations.length}:\n${violations.map((v) => v.message).join("\n")}`);
    const [v] = violations;
    const [problem, remedy] = v.message.split(". Fix: ");
    assert.ok(problem.startsWith(`${where}: `), `the message should start with the resource, ${where}: ${v.message}`);
    assert.match(problem, what);
    assert.ok(remedy, `the message should say how to fix it ("Fix: ..."): ${v.message}`);
    assert.match(remedy, fix);
    return v;
}

export function assertNoViolation(violations: ReportedViolation[]): void {
    assert.deepEqual(violations.map((v) => v.message), []);
}
