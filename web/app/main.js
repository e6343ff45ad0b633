/**
 * Rasid's web app: the shell (header, language switch, navigation by role), hash routing and sign-in.
 * Screens live in their own modules; every text comes from the ar/en dictionaries.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ACCOUNT_ROUTES, AccountSignIn, accountNav } from './account.js';
import { ADMIN_ROUTES, FirstRun } from './admin.js';
import { api, getAuth, setAuth } from './api.js';
import { CENTRE_ROUTES, Survey } from './centre.js';
import { DECEASED_ROUTES } from './deceased.js';
import { FIELD_ROUTES } from './field.js';
import { html } from './html.js';
import {
  currentDigits,
  currentLang,
  onLanguageChange,
  problemText,
  setDigits,
  setLang,
  setUtilityZone,
  t,
} from './i18n.js';
import { IMPORT_ROUTES } from './import.js';
import { KioskClose, KioskSales, KioskSell, KioskSignIn } from './kiosk.js';
import { LOSS_ROUTES } from './losses.js';
import { MESSAGE_ROUTES } from './messages.js';
import { watchScrollRegions } from './scroll.js';
import { STAFF_ROUTES, staffHome, staffNav } from './staff.js';
import { TECH_ROUTES } from './technician.js';
import { TopupAmount, TopupMeter, TopupResult } from './topup.js';
import { Alert, Field, problemTextOr, Screen, Submit, useTask } from './ui.js';

/** The current route: the hash path, or the page Checkout returns to (/topup?session=…). */
function readRoute() {
  const hash = location.hash.replace(/^#/, '') || '/';
  const [path, query = ''] = hash.split('?');
  return { path, params: new URLSearchParams(query) };
}

/** What this tab last heard from the server at start, so that a reload without a connection still opens. */
function keep(name, value) {
  sessionStorage.setItem(`rasid.kept.${name}`, JSON.stringify(value));
}
function kept(name) {
  try {
    return JSON.parse(sessionStorage.getItem(`rasid.kept.${name}`) ?? 'null');
  } catch {
    return null;
  }
}

function navigate(path) {
  location.hash = `#${path}`;
}

/** Staff sign-in: utility, username and password; a person's session is a bearer token. */
function SignIn({ utilities, signIn }) {
  const [utility, setUtility] = useState(utilities[0]?.code ?? '');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const { busy, error, setError, run } = useTask(problemTextOr(401, t('auth.wrong')));

  async function submit(e) {
    e.preventDefault();
    if (!username || !password) return setError(t('auth.required'));
    await run(
      async () => {
        const s = await api('POST', '/api/v1/sessions', { body: { utility, username, password } });
        await signIn({ kind: 'bearer', token: s.token });
      },
      { leaves: true },
    );
  }

  return html`<${Screen} name="signin" title=${t('auth.title')}>
    <p class="lead">${t('auth.lead')}</p>
    <form onSubmit=${submit} novalidate>
      ${
        utilities.length > 1
          ? html`<div class="field">
            <label for="signin-utility">${t('topup.utility')}</label>
            <select id="signin-utility" value=${utility} onChange=${(e) => setUtility(e.currentTarget.value)}>
              ${utilities.map((u) => html`<option value=${u.code}>${u.name}</option>`)}
            </select>
          </div>`
          : null
      }
      <${Field}
        id="username"
        label=${t('auth.username')}
        value=${username}
        autocomplete="username"
        dir="ltr"
        onInput=${(e) => setUsername(e.currentTarget.value)}
      />
      <${Field}
        id="password"
        type="password"
        label=${t('auth.password')}
        value=${password}
        autocomplete="current-password"
        dir="ltr"
        onInput=${(e) => setPassword(e.currentTarget.value)}
      />
      <${Alert}>${error}<//>
      <${Submit} busy=${busy}>${t('auth.signIn')}<//>
    </form>
    <p><a href="/#/kiosk/signin">${t('auth.kioskInstead')}</a></p>
  <//>`;
}

function navFor(who) {
  if (!who) {
    return [
      { href: '/#/', label: t('nav.topup') },
      { href: '/#/signin', label: t('nav.staff') },
      { href: '/#/kiosk/signin', label: t('nav.kiosk') },
    ];
  }
  if (who.role === 'vendor') {
    return [
      { href: '/#/kiosk', label: t('nav.sell') },
      { href: '/#/kiosk/sales', label: t('nav.sales') },
      { href: '/#/kiosk/close', label: t('nav.close') },
    ];
  }
  if (who.role === 'customer') return accountNav();
  return staffNav(who);
}

/** Staff roles have many screens: on a phone their menu folds behind one button (see .menu in app.css). */
function foldsMenu(who) {
  return Boolean(who) && who.role !== 'customer' && who.role !== 'vendor';
}

function Header({ who, route, signOut }) {
  const lang = currentLang();
  const other = lang === 'ar' ? 'en' : 'ar';
  const items = navFor(who);
  const current = `/#${route.path}`;
  const folds = foldsMenu(who);
  const [open, setOpen] = useState(false);
  // A new screen closes the menu it was chosen from.
  useEffect(() => setOpen(false), [route.path]);
  const tools = html`${
    lang === 'ar'
      ? html`<button
          type="button"
          class="link"
          aria-pressed=${currentDigits() === 'arabic' ? 'true' : 'false'}
          onClick=${() => setDigits(currentDigits() === 'arabic' ? 'latin' : 'arabic')}
        >
          ${t('lang.arabicDigits')}
        </button>`
      : null
  }
  ${who ? html`<button type="button" class="link" onClick=${signOut}>${t('auth.signOut')}</button>` : null}`;
  const langButton = html`<button type="button" class="lang" lang=${other} data-testid="lang-switch" onClick=${() => setLang(other)}>
    ${other === 'ar' ? 'العربية' : 'English'}
  </button>`;
  const nav = html`<nav aria-label=${t('nav.label')}>
    <ul>
      ${items.map(
        (i) => html`<li>
          <a href=${i.href} aria-current=${i.href === current ? 'page' : undefined}>${i.label}</a>
        </li>`,
      )}
    </ul>
  </nav>`;
  const signedIn =
    who && who.role !== 'customer'
      ? html`<p class="signed-in">${t('auth.signedInAs', { name: who.name, role: t(`role.${who.role}`) })}</p>`
      : null;
  if (!folds) {
    return html`<header class="top">
      <div class="bar">
        <a class="brand" href=${who ? homeHref(who) : '/#/'}>
          <span class="brand-ar" lang="ar">رصيد</span> <span class="brand-en" lang="en">Rasid</span>
        </a>
        <div class="tools">${tools} ${langButton}</div>
      </div>
      ${nav} ${signedIn}
    </header>`;
  }
  return html`<header class="top folds" data-open=${open ? 'true' : 'false'}>
    <div class="bar">
      <a class="brand" href=${homeHref(who)}>
        <span class="brand-ar" lang="ar">رصيد</span> <span class="brand-en" lang="en">Rasid</span>
      </a>
      <div class="tools">
        <span class="menu-tools">${tools}</span>
        ${langButton}
        <button
          type="button"
          class="menu-toggle"
          aria-expanded=${open ? 'true' : 'false'}
          aria-controls="site-menu"
          data-testid="menu-toggle"
          onClick=${() => setOpen(!open)}
        >
          ${open ? t('nav.closeMenu') : t('nav.menu')}
        </button>
      </div>
    </div>
    <div id="site-menu" class="menu">
      ${nav}
      ${signedIn}
    </div>
  </header>`;
}

function homeOf(who) {
  if (who.role === 'customer') return '/account';
  return who.role === 'vendor' ? '/kiosk' : staffHome(who);
}

function homeHref(who) {
  return `/#${homeOf(who)}`;
}

function App() {
  const [, setTick] = useState(0);
  const [route, setRoute] = useState(readRoute());
  const [utilities, setUtilities] = useState(null);
  const [who, setWho] = useState(undefined);
  // Staff screens show times in the signed-in utility's zone, whatever the zone of this computer.
  setUtilityZone(who?.utility?.timezone);
  const [loadError, setLoadError] = useState(null);

  useEffect(() => onLanguageChange(() => setTick((n) => n + 1)), []);
  useEffect(() => {
    const onHash = () => setRoute(readRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    api('GET', '/api/v1/web/utilities').then(
      (r) => {
        keep('utilities', r.utilities);
        setUtilities(r.utilities);
      },
      (err) => {
        // Offline (a field agent's phone): the list this tab last saw, if any.
        if (err.network && kept('utilities')) return setUtilities(kept('utilities'));
        setLoadError(problemText(err));
      },
    );
    if (!getAuth()) return setWho(null);
    api('GET', '/api/v1/web/whoami').then(
      (me) => {
        keep('who', me);
        setWho(me);
      },
      (err) => {
        if (err.network && kept('who')) return setWho(kept('who'));
        setAuth(null);
        setWho(null);
      },
    );
  }, []);

  async function signIn(auth, to) {
    setAuth(auth);
    try {
      const me = await api('GET', '/api/v1/web/whoami');
      keep('who', me);
      setWho(me);
      navigate(to ?? homeOf(me));
    } catch (err) {
      setAuth(null);
      throw err;
    }
  }

  async function signOut() {
    const auth = getAuth();
    if (auth?.kind === 'bearer') await api('DELETE', '/api/v1/sessions/current').catch(() => null);
    setAuth(null);
    sessionStorage.removeItem('rasid.kept.who');
    setWho(null);
    navigate('/');
  }

  let screen = null;
  const ctx = { who, utilities, navigate, signIn, route };
  const checkoutSession = location.pathname === '/topup' ? new URLSearchParams(location.search) : null;
  if (loadError) screen = html`<${Alert}>${loadError}<//>`;
  else if (utilities === null || who === undefined)
    screen = html`<p class="loading" role="status">${t('common.loading')}</p>`;
  else if (checkoutSession?.get('session') && route.path === '/') {
    screen = html`<${TopupResult} sessionId=${checkoutSession.get('session')} />`;
  } else {
    screen = routeScreen(route, ctx);
  }

  return html`<a class="skip" href="#main" onClick=${(e) => {
    e.preventDefault();
    document.getElementById('screen-title')?.focus();
  }}>${t('common.skip')}</a>
    <${Header} who=${who} route=${route} signOut=${signOut} />
    <main id="main">${screen}</main>
    <footer class="foot"><p>${t('app.footer')}</p></footer>`;
}

function routeScreen(route, ctx) {
  const { who, utilities } = ctx;
  const path = route.path;
  // A fresh install without a utility: the first-run screen (guarded by the setup code of the log).
  if (path === '/setup' || (path === '/' && utilities.length === 0 && !who)) {
    return html`<${FirstRun} />`;
  }
  if (path === '/') {
    if (location.pathname === '/topup' && new URLSearchParams(location.search).get('cancelled')) {
      history.replaceState(null, '', '/#/topup/amount?cancelled=1');
      return html`<${TopupAmount} navigate=${navigate} notice=${t('topup.cancelled')} />`;
    }
    return html`<${TopupMeter} utilities=${utilities} navigate=${navigate} />`;
  }
  if (path === '/topup/amount') {
    return html`<${TopupAmount}
      navigate=${navigate}
      notice=${route.params.get('cancelled') ? t('topup.cancelled') : null}
    />`;
  }
  const survey = /^\/survey\/(?<token>[A-Za-z0-9_-]{20,64})$/.exec(path);
  if (survey) return html`<${Survey} token=${survey.groups.token} />`;
  if (path === '/signin') return html`<${SignIn} utilities=${utilities} signIn=${ctx.signIn} />`;
  if (path === '/kiosk/signin') return html`<${KioskSignIn} signIn=${ctx.signIn} />`;
  if (path === '/account/signin')
    return html`<${AccountSignIn} utilities=${utilities} signIn=${ctx.signIn} />`;
  for (const r of ACCOUNT_ROUTES) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (who?.role !== 'customer')
      return html`<${AccountSignIn} utilities=${utilities} signIn=${ctx.signIn} />`;
    return html`<${r.screen} who=${who} params=${m.groups ?? {}} navigate=${navigate} />`;
  }
  if (path.startsWith('/kiosk')) {
    if (who?.role !== 'vendor' || !who.vendorId) return html`<${KioskSignIn} signIn=${ctx.signIn} />`;
    if (path === '/kiosk') return html`<${KioskSell} who=${who} />`;
    if (path === '/kiosk/sales') return html`<${KioskSales} who=${who} />`;
    if (path === '/kiosk/close') return html`<${KioskClose} who=${who} />`;
  }
  for (const r of [
    ...STAFF_ROUTES,
    ...CENTRE_ROUTES,
    ...TECH_ROUTES,
    ...MESSAGE_ROUTES,
    ...ADMIN_ROUTES,
    ...IMPORT_ROUTES,
    ...DECEASED_ROUTES,
    ...FIELD_ROUTES,
    ...LOSS_ROUTES,
  ]) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (!who) return html`<${SignIn} utilities=${utilities} signIn=${ctx.signIn} />`;
    if (who.role !== 'admin' && !r.roles.includes(who.role)) {
      return html`<${Screen} name="forbidden" title=${t('error.forbidden')}>
        <p>${t('auth.notForRole')} <a href=${homeHref(who)}>${t('nav.home')}</a></p>
      <//>`;
    }
    return html`<${r.screen} who=${who} params=${m.groups ?? {}} query=${route.params} navigate=${navigate} />`;
  }
  return html`<${Screen} name="not-found" title=${t('error.route_not_found')}>
    <p><a href="/#/">${t('nav.topup')}</a></p>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
watchScrollRegions();
