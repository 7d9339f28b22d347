import type { Page } from 'playwright-core';
import { linkInMail, MailInbox } from '@app/testing';
import { screenshot, seriousViolations } from './browser';

/** What a person does in the portal, step by step (used by portal.e2e-spec.ts). */
export interface Person {
  email: string;
  password: string;
}

export async function expectAccessible(p: Page, screen: string): Promise<void> {
  const violations = await seriousViolations(p);
  if (violations.length > 0) throw new Error(`${screen}: axe found ${JSON.stringify(violations, null, 1)}`);
}

/** The observed status in the instance page's heading. */
export function headingStatus(p: Page, status: string) {
  return p.locator(`h1 [data-status="${status}"]`);
}

export async function signUpAndVerify(
  p: Page,
  portal: string,
  inbox: MailInbox,
  who: Person,
  first: string,
): Promise<string> {
  await p.goto(`${portal}/signup`);
  await p.getByLabel('First name').fill(first);
  await p.getByLabel('Last name').fill('Moyo');
  await p.getByLabel('Email').fill(who.email);
  await p.getByLabel('Password').fill(who.password);
  await p.getByLabel('I accept the terms of service').check();
  await p.getByRole('button', { name: 'Sign up' }).click();
  await p.getByRole('heading', { name: 'Check your email' }).waitFor();
  const link = linkInMail(await inbox.waitFor(who.email, /confirm your email/i), '/verify-email');
  await p.goto(link.url);
  await p.getByText('Your email is confirmed').waitFor();
  return link.url;
}

export async function logIn(p: Page, portal: string, who: Person): Promise<void> {
  await p.goto(`${portal}/login`);
  await p.getByLabel('Email').fill(who.email);
  await p.getByLabel('Password').fill(who.password);
  await p.getByRole('button', { name: 'Log in' }).click();
  await p.getByRole('heading', { name: 'Dashboard' }).waitFor();
}

export async function openTab(p: Page, portal: string, instanceId: string, tab: string): Promise<void> {
  // In-app navigation (no reload): the tab links.
  await p.getByRole('navigation', { name: 'Instance sections' }).getByRole('link', { name: tab }).click();
  await p.waitForURL(`${portal}/odoo/${instanceId}/${tab.toLowerCase()}`);
}

/** Actions tab: stop (confirmed), wait for stopped, start, wait for running; all live. */
export async function stopAndStart(p: Page, portal: string, instanceId: string): Promise<void> {
  await openTab(p, portal, instanceId, 'Actions');
  const start = p.getByRole('button', { name: 'Start', exact: true });
  await start.waitFor();
  // Disallowed actions are disabled, with the reason.
  if (!(await start.isDisabled())) throw new Error('Start is enabled on a running instance');
  await expectAccessible(p, 'instance actions');
  await screenshot(p, 'instance-actions');
  await p.getByRole('button', { name: 'Stop', exact: true }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
  await headingStatus(p, 'stopped').waitFor({ timeout: 120_000 });
  await p.getByRole('button', { name: 'Start', exact: true }).and(p.locator(':enabled')).waitFor();
  await p.getByRole('button', { name: 'Start', exact: true }).click();
  await headingStatus(p, 'running').waitFor({ timeout: 120_000 });
}

/** Backups tab: back up now, wait for the completed backup, restore it (confirmed), back to running. */
export async function backUpAndRestore(p: Page, portal: string, instanceId: string): Promise<void> {
  await openTab(p, portal, instanceId, 'Backups');
  await p.getByText('No backups yet.').waitFor();
  await p.getByRole('button', { name: 'Back up now' }).and(p.locator(':enabled')).waitFor();
  await p.getByRole('button', { name: 'Back up now' }).click();
  const completed = p.locator('tr[data-backup] [data-status="completed"]');
  await completed.waitFor({ timeout: 120_000 });
  await headingStatus(p, 'running').waitFor({ timeout: 60_000 });
  await expectAccessible(p, 'instance backups');
  await screenshot(p, 'instance-backups');
  // Restore needs the instance stopped: the button says why it is disabled until then.
  const restore = p.getByRole('button', { name: /^Restore the backup of/ });
  if (!(await restore.isDisabled())) throw new Error('Restore is enabled on a running instance');
  await p.getByText('stop the instance first').waitFor();
  await openTab(p, portal, instanceId, 'Actions');
  await p.getByRole('button', { name: 'Stop', exact: true }).and(p.locator(':enabled')).waitFor();
  await p.getByRole('button', { name: 'Stop', exact: true }).click();
  await p.getByRole('dialog').getByRole('button', { name: 'Stop' }).click();
  await headingStatus(p, 'stopped').waitFor({ timeout: 120_000 });
  await openTab(p, portal, instanceId, 'Backups');
  await restore.and(p.locator(':enabled')).waitFor();
  await restore.click();
  await p.getByRole('dialog').getByRole('button', { name: 'Restore' }).click();
  await p.getByRole('status').getByText('Restore queued.').waitFor();
  await openTab(p, portal, instanceId, 'Activity');
  await p.locator('ol.activity li', { hasText: 'restoring' }).first().waitFor({ timeout: 60_000 });
  await headingStatus(p, 'stopped').waitFor({ timeout: 120_000 });
  await expectAccessible(p, 'instance activity');
  await screenshot(p, 'instance-activity');
  await openTab(p, portal, instanceId, 'Actions');
  await p.getByRole('button', { name: 'Start', exact: true }).and(p.locator(':enabled')).waitFor();
  await p.getByRole('button', { name: 'Start', exact: true }).click();
  await headingStatus(p, 'running').waitFor({ timeout: 120_000 });
}
