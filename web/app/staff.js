/** Screens for operators, technicians and customer service; each lists the roles that may open it. */
import { html } from './html.js';
import { t } from './i18n.js';
import { Screen } from './ui.js';

function Welcome({ who }) {
  return html`<${Screen} name="staff-home" title=${t('staff.welcome', { name: who.name })}>
    <p>${t(`role.${who.role}`)}</p>
  <//>`;
}

export const STAFF_ROUTES = [
  { pattern: /^\/staff$/, roles: ['operator', 'technician', 'service', 'customer'], screen: Welcome },
];

export function staffHome() {
  return '/staff';
}

export function staffNav() {
  return [{ href: '/#/staff', label: t('nav.home') }];
}
