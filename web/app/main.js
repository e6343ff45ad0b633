/**
 * Rasid's web app: the shell (header, language switch, navigation by role), hash routing and sign-in.
 * Screens live in their own modules; every text comes from the ar/en dictionaries.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ACCOUNT_ROUTES, AccountSignIn, accountNav } from './account.js';
import { api, getAuth, setAuth } from './api.js';
import { html } from './html.js';
import { currentDigits, currentLang, onLanguageChange, problemText, setDigits, setLang, t } from './i18n.js';
import { KioskClose, KioskSales, KioskSell, KioskSignIn } from './kiosk.js';
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

function Header({ who, route, signOut }) {
  const lang = currentLang();
  const other = lang === 'ar' ? 'en' : 'ar';
  const items = navFor(who);
  const current = `/#${route.path}`;
  return html`<header class="top">
    <div class="bar">
      <a class="brand" href=${who ? homeHref(who) : '/#/'}>
        <span class="brand-ar" lang="ar">رصيد</span> <span class="brand-en" lang="en">Rasid</span>
      </a>
      <div class="tools">
        ${
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
        <button type="button" class="lang" lang=${other} data-testid="lang-switch" onClick=${() => setLang(other)}>
          ${other === 'ar' ? 'العربية' : 'English'}
        </button>
        ${who ? html`<button type="button" class="link" onClick=${signOut}>${t('auth.signOut')}</button>` : null}
      </div>
    </div>
    <nav aria-label=${t('nav.label')}>
      <ul>
        ${items.map(
          (i) => html`<li>
            <a href=${i.href} aria-current=${i.href === current ? 'page' : undefined}>${i.label}</a>
          </li>`,
        )}
      </ul>
    </nav>
    ${who && who.role !== 'customer' ? html`<p class="signed-in">${t('auth.signedInAs', { name: who.name, role: t(`role.${who.role}`) })}</p>` : null}
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
  const [loadError, setLoadError] = useState(null);

  useEffect(() => onLanguageChange(() => setTick((n) => n + 1)), []);
  useEffect(() => {
    const onHash = () => setRoute(readRoute());
    window.addEventListener('hashchange', onHash);
    return () => window.removeEventListener('hashchange', onHash);
  }, []);
  useEffect(() => {
    api('GET', '/api/v1/web/utilities').then(
      (r) => setUtilities(r.utilities),
      (err) => setLoadError(problemText(err)),
    );
    if (!getAuth()) return setWho(null);
    api('GET', '/api/v1/web/whoami').then(setWho, () => {
      setAuth(null);
      setWho(null);
    });
  }, []);

  async function signIn(auth, to) {
    setAuth(auth);
    try {
      const me = await api('GET', '/api/v1/web/whoami');
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
  for (const r of [...STAFF_ROUTES, ...TECH_ROUTES]) {
    const m = r.pattern.exec(path);
    if (!m) continue;
    if (!who) return html`<${SignIn} utilities=${utilities} signIn=${ctx.signIn} />`;
    if (who.role !== 'admin' && !r.roles.includes(who.role)) {
      return html`<${Screen} name="forbidden" title=${t('error.forbidden')}><p>${t('auth.notForRole')}</p><//>`;
    }
    return html`<${r.screen} who=${who} params=${m.groups ?? {}} query=${route.params} navigate=${navigate} />`;
  }
  return html`<${Screen} name="not-found" title=${t('error.route_not_found')}>
    <p><a href="/#/">${t('nav.topup')}</a></p>
  <//>`;
}

render(html`<${App} />`, document.getElementById('app'));
