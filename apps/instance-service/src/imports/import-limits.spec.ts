import { TENANT_PLAN_CEILINGS } from '@app/tenancy';
import { importLimitBytes } from './import-limits';

const GiB = 1024 ** 3;

describe('importLimitBytes', () => {
  it("follows the instance's storage limit, so a bigger plan imports bigger archives", () => {
    const cap = 1024 * GiB;
    const starter = importLimitBytes(TENANT_PLAN_CEILINGS.starter.storage_limit, cap);
    const professional = importLimitBytes(TENANT_PLAN_CEILINGS.professional.storage_limit, cap);
    expect(starter).toBe(10 * GiB);
    expect(professional).toBe(50 * GiB);
    expect(importLimitBytes('512M', cap)).toBe(512 * 1024 ** 2);
  });

  it("never exceeds the operator's cap", () => {
    expect(importLimitBytes('50G', 2 * GiB)).toBe(2 * GiB);
  });
});
