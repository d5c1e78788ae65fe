// A real OpenID provider (the npm package oidc-provider) for Ward's browser sign-in test
// (crates/ward-cli/tests/oidc_ui.rs). Listens on a free loopback port and prints one line of
// JSON, {"issuer": "http://HOST:PORT"}, once it serves.
//
// Environment: WARD_REDIRECT_URI (Ward's callback, the client's only redirect URI) and
// WARD_CLIENT_SECRET (the client's secret). One client, "ward": the authorization-code flow
// with PKCE required, and the device flow. The built-in development interactions sign in any login (the account id
// is the login) and ask for consent; every account's claims are
// {sub: LOGIN, email: LOGIN@example.org, name: "LOGIN Example"}, except that a login NAME~X is
// another account (sub NAME~X) holding NAME's address, NAME@example.org: an address reassigned to
// someone new. Re-authentication before a
// signature asks with prompt=login and max_age=0: oidc-provider then shows the login form again
// and puts auth_time in the ID token (OIDC Core §3.1.2.1), which Ward requires fresh. Test use only.
import http from 'node:http';
import Provider from 'oidc-provider';

// Stdout carries the one issuer line (the test stops reading it then); everything the provider
// logs goes to stderr.
const announce = console.log.bind(console);
console.log = console.error;
console.info = console.error;
process.stdout.on('error', () => {});

const redirectUri = process.env.WARD_REDIRECT_URI;
const secret = process.env.WARD_CLIENT_SECRET;
if (!redirectUri || !secret) {
  console.error('set WARD_REDIRECT_URI and WARD_CLIENT_SECRET');
  process.exit(2);
}

const server = http.createServer();
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  // WARD_ISSUER_HOST (default 127.0.0.1): the host the issuer names, e.g. localhost to put the
  // provider on another site than Ward at 127.0.0.1 (the server listens on 127.0.0.1 either way).
  const issuer = `http://${process.env.WARD_ISSUER_HOST || '127.0.0.1'}:${port}`;
  const provider = new Provider(issuer, {
    clients: [
      {
        client_id: 'ward',
        client_secret: secret,
        redirect_uris: [redirectUri],
        grant_types: ['authorization_code', 'urn:ietf:params:oauth:grant-type:device_code'],
        response_types: ['code'],
        token_endpoint_auth_method: 'client_secret_basic',
      },
    ],
    pkce: { required: () => true },
    // The device flow (RFC 8628) for `ward login --oidc`: the same client, a code to enter at
    // /device, then the same development login and consent.
    features: { deviceFlow: { enabled: true } },
    // The claims asked for by scope go into the ID token too (Ward reads only the ID token).
    conformIdTokenClaims: false,
    claims: {
      openid: ['sub'],
      email: ['email', 'email_verified'],
      profile: ['name'],
    },
    cookies: { keys: ['ward-test-only-cookie-signing-key'] },
    async findAccount(ctx, id) {
      return {
        accountId: id,
        async claims() {
          const name = id.split('~')[0];
          return { sub: id, email: `${name}@example.org`, email_verified: true, name: `${id} Example` };
        },
      };
    },
  });
  server.on('request', provider.callback());
  announce(JSON.stringify({ issuer }));
});

for (const signal of ['SIGINT', 'SIGTERM']) {
  process.on(signal, () => process.exit(0));
}
