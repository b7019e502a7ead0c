import { SECRET_LENGTH, hashSecret, isWellFormedSecret, maskSecret, secretFromRandomBytes } from '../../src/domain/secret';

describe('Secret format', () => {
  it('should turn 32 random bytes into sk- + 49 base62 characters with a valid checksum', () => {
    const secret = secretFromRandomBytes(Buffer.alloc(32, 0xab));
    expect(secret).toMatch(/^sk-[0-9A-Za-z]{49}$/);
    expect(secret).toHaveLength(SECRET_LENGTH);
    expect(isWellFormedSecret(secret)).toBe(true);
  });

  it('should give distinct secrets for distinct bytes, including leading zero bytes', () => {
    const zeros = Buffer.alloc(32, 0);
    const one = Buffer.alloc(32, 0);
    one[31] = 1;
    const a = secretFromRandomBytes(zeros);
    const b = secretFromRandomBytes(one);
    expect(a).not.toBe(b);
    expect(isWellFormedSecret(a) && isWellFormedSecret(b)).toBe(true);
  });

  it('should pin the format and the hash against a known vector', () => {
    const secret = secretFromRandomBytes(Buffer.from('000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f', 'hex'));
    expect(secret).toBe('sk-003aUlTJC7tjlCTQj2uNU3MFagCXG9LRKRcwGkBIDlf2j7ZOG');
    // Both values computed independently (Python: int → base62, zlib.crc32, hashlib.sha256)
    expect(hashSecret('sk-test')).toBe('f3abf2a6cc4f00987743db5f544ba345b4899ae31f326d8ee9c4816de153c9e0');
  });

  it('should answer MALFORMED-worthy false for a mistyped, truncated or foreign key', () => {
    const secret = secretFromRandomBytes(Buffer.alloc(32, 9));
    const flipped = secret.slice(0, 10) + (secret[10] === 'a' ? 'b' : 'a') + secret.slice(11);
    expect(isWellFormedSecret(flipped)).toBe(false);
    expect(isWellFormedSecret(secret.slice(0, -1))).toBe(false);
    expect(isWellFormedSecret(`${secret}x`)).toBe(false);
    expect(isWellFormedSecret('sk-proj-abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOP')).toBe(false);
    expect(isWellFormedSecret('')).toBe(false);
  });

  it('should mask as the first 5 characters, *** and the last 4', () => {
    expect(maskSecret('sk-a1bcdefghijklmnop9xQz')).toBe('sk-a1***9xQz');
  });
});
