// A real OpenID Connect provider for the Rust integration test of citizen login
// (crates/tinhso/tests/foundation/oidc.rs): the certified `oidc-provider` package with one
// static confidential client and one test citizen.
//
// Environment:
//   OIDC_PORT           port to listen on (127.0.0.1 only)
//   OIDC_CLIENT_ID      client_id of the Tỉnh số application
//   OIDC_CLIENT_SECRET  its secret
//   OIDC_REDIRECT_URI   its redirect URI (…/login/oidc/callback)
//
// The interactive steps (login form, consent form) are replaced by an endpoint that logs in
// the fixed test account and grants what was asked, then resumes the authorization: the
// test drives the flow with plain HTTP redirects, without HTML forms to scrape.
// Prints `READY <issuer>` on stdout once listening.

import { generateKeyPairSync, randomBytes } from 'node:crypto';
import Provider from 'oidc-provider';

const env = (name) => {
  const value = process.env[name];
  if (!value) {
    console.error(`oidc-provider.mjs: ${name} is not set`);
    process.exit(2);
  }
  return value;
};

const port = Number(env('OIDC_PORT'));
const issuer = `http://127.0.0.1:${port}`;
const ACCOUNT_ID = 'test-citizen-1';
const CLAIMS = {
  personal_id: '079200001234',
  name: 'Nguyễn Văn Định Danh',
};

// A fresh signing key per run: nothing long-lived, nothing checked in.
const { privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
const signingKey = {
  ...privateKey.export({ format: 'jwk' }),
  kid: randomBytes(8).toString('hex'),
  alg: 'RS256',
  use: 'sig',
};

const provider = new Provider(issuer, {
  clients: [
    {
      client_id: env('OIDC_CLIENT_ID'),
      client_secret: env('OIDC_CLIENT_SECRET'),
      redirect_uris: [env('OIDC_REDIRECT_URI')],
      grant_types: ['authorization_code'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
    },
  ],
  jwks: { keys: [signingKey] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  // `personal_id` comes with the `openid` scope, `name` with `profile`; in the code flow
  // they are served by the userinfo endpoint (conformIdTokenClaims, the default).
  claims: { openid: ['sub', 'personal_id'], profile: ['name'] },
  async findAccount(_ctx, id) {
    if (id !== ACCOUNT_ID) return undefined;
    return { accountId: id, claims: async () => ({ sub: id, ...CLAIMS }) };
  },
  features: { devInteractions: { enabled: false } },
  interactions: { url: (_ctx, interaction) => `/interaction/${interaction.uid}` },
  pkce: { required: () => true },
});

// The automatic login and consent.
provider.use(async (ctx, next) => {
  if (ctx.method !== 'GET' || !ctx.path.startsWith('/interaction/')) return next();
  const details = await provider.interactionDetails(ctx.req, ctx.res);
  const { prompt, params } = details;
  let result;
  if (prompt.name === 'login') {
    result = { login: { accountId: ACCOUNT_ID } };
  } else if (prompt.name === 'consent') {
    const grant = details.grantId
      ? await provider.Grant.find(details.grantId)
      : new provider.Grant({ accountId: details.session.accountId, clientId: params.client_id });
    if (prompt.details.missingOIDCScope) grant.addOIDCScope(prompt.details.missingOIDCScope.join(' '));
    if (prompt.details.missingOIDCClaims) grant.addOIDCClaims(prompt.details.missingOIDCClaims);
    result = { consent: { grantId: await grant.save() } };
  } else {
    result = { error: 'access_denied', error_description: `unexpected prompt ${prompt.name}` };
  }
  const target = await provider.interactionResult(ctx.req, ctx.res, result, {
    mergeWithLastSubmission: false,
  });
  ctx.status = 303;
  ctx.redirect(target);
});

const server = provider.listen(port, '127.0.0.1', () => {
  console.log(`READY ${issuer}`);
});

const stop = () => server.close(() => process.exit(0));
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
