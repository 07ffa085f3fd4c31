// The city's identity provider, as the SSO tests meet it (tests/test_sso.py,
// tests/test_browser_sso.py): the certified `oidc-provider` package, on loopback, with one
// confidential client (the portal), PKCE S256 required, and its development sign-in form (any
// password; the login typed is the account). Test only: nothing here is deployed.
//
// Environment: OIDC_PORT, OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URIS and
// OIDC_POST_LOGOUT_REDIRECT_URIS (comma-separated). Prints "ready <issuer>" once it listens.
import Provider from 'oidc-provider';

const port = Number(process.env.OIDC_PORT);
const issuer = `http://127.0.0.1:${port}`;
const list = (name) => (process.env[name] || '').split(',').filter(Boolean);

// Group claims of a few accounts (the role map's tests); every other login has none.
const GROUPS = {
  'gruppad.lvs': ['SP-LVS'],
  'gruppad.chef': ['SP-Enhetschef', 'Ointressant-grupp'],
  'tidigare.lvs': [],
};

function account(login) {
  // "name@goteborg.se" is the city account's usual form; a login with its own domain keeps it.
  const username = login.includes('@') ? login : `${login}@goteborg.se`;
  return {
    accountId: login,
    async claims() {
      return {
        sub: login,
        preferred_username: username,
        name: `Test ${login}`,
        email: username,
        groups: GROUPS[login] || [],
      };
    },
  };
}

const configuration = {
  clients: [{
    client_id: process.env.OIDC_CLIENT_ID,
    client_secret: process.env.OIDC_CLIENT_SECRET,
    redirect_uris: list('OIDC_REDIRECT_URIS'),
    post_logout_redirect_uris: list('OIDC_POST_LOGOUT_REDIRECT_URIS'),
    grant_types: ['authorization_code'],
    response_types: ['code'],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  pkce: { methods: ['S256'], required: () => true },
  features: {
    devInteractions: { enabled: true },
    rpInitiatedLogout: { enabled: true },
  },
  async findAccount(ctx, id) {
    return account(id);
  },
  claims: {
    openid: ['sub'],
    profile: ['name', 'preferred_username', 'groups'],
    email: ['email'],
  },
  // The claims go into the ID token, as the portal reads them there (no userinfo call).
  conformIdTokenClaims: false,
  // The portal is a first-party client: no consent screen (the provider's documented recipe).
  async loadExistingGrant(ctx) {
    const grantId = ctx.oidc.result?.consent?.grantId
      || ctx.oidc.session.grantIdFor(ctx.oidc.client.clientId);
    if (grantId) return ctx.oidc.provider.Grant.find(grantId);
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope('openid profile email');
    await grant.save();
    return grant;
  },
  // Short enough for the expired-token test to step the portal's clock past it within the life
  // of the portal's own sign-in state (an hour).
  ttl: {
    IdToken: 600,
    AccessToken: 600,
    AuthorizationCode: 60,
    Interaction: 600,
    Session: 3600,
    Grant: 3600,
  },
  cookies: { keys: ['test-only-cookie-key-not-secret'] },
};

const provider = new Provider(issuer, configuration);
provider.listen(port, '127.0.0.1', () => {
  console.log(`ready ${issuer}`);
});
