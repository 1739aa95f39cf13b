// The policy pack Pulumi runs with `--policy-pack policy` (docs/policies.md). The rules live in
// rules/, plain functions of a resource's inputs; policies.ts turns them into @pulumi/policy
// policies, so that tests call the same code without starting the pack's server.
import { PolicyPack } from "@pulumi/policy";
import { POLICIES } from "./policies";

new PolicyPack("streamspace-images", { policies: POLICIES });
