import { createHash } from 'node:crypto';
import { SignJWT, calculateJwkThumbprint, exportJWK, generateKeyPair, jwtVerify, errors, type CryptoKey, type JWK, type JWTPayload } from 'jose';

/**
 * The sandbox's signing key: RS256 like Xero, with `kid` (40 uppercase hex) and `x5t` in every JWT header,
 * published through the JWKS endpoint. A fresh key per sandbox process: tokens never outlive their server.
 */
export class SigningKey {
  private constructor(
    private readonly privateKey: CryptoKey,
    private readonly publicKey: CryptoKey,
    readonly jwk: JWK & { kid: string; x5t: string },
  ) {}

  static async generate(): Promise<SigningKey> {
    const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
    const pub = await exportJWK(publicKey);
    const thumb = await calculateJwkThumbprint(pub, 'sha256');
    const sha1 = createHash('sha1').update(thumb).digest();
    const jwk = {
      ...pub,
      kty: 'RSA',
      use: 'sig',
      alg: 'RS256',
      kid: sha1.toString('hex').toUpperCase(),
      x5t: sha1.toString('base64url'),
    };
    return new SigningKey(privateKey, publicKey, jwk);
  }

  sign(claims: JWTPayload): Promise<string> {
    return new SignJWT(claims)
      .setProtectedHeader({ alg: 'RS256', kid: this.jwk.kid, typ: 'JWT', x5t: this.jwk.x5t })
      .sign(this.privateKey);
  }

  /**
   * Verifies signature, issuer and audience at the sandbox's time. Expiry is reported separately so the API
   * can answer `TokenExpired` (which tells a client to refresh) rather than `AuthenticationUnsuccessful`.
   */
  async verify(
    token: string,
    opts: { issuer: string; audience: string; nowSeconds: number },
  ): Promise<{ ok: true; payload: JWTPayload } | { ok: false; expiredAt?: number }> {
    try {
      const { payload } = await jwtVerify(token, this.publicKey, {
        issuer: opts.issuer,
        audience: opts.audience,
        algorithms: ['RS256'],
        currentDate: new Date(opts.nowSeconds * 1000),
      });
      return { ok: true, payload };
    } catch (err) {
      if (err instanceof errors.JWTExpired) return { ok: false, expiredAt: Number(err.payload.exp) };
      return { ok: false };
    }
  }
}

/** OIDC `at_hash`: base64url of the left half of SHA-256 of the access token. */
export function atHash(accessToken: string): string {
  const digest = createHash('sha256').update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}
