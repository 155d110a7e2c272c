import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for sensitive columns (full bank account numbers), docs/decisions.md, "Encryption keys
 * and rotation". The key id is stored beside each ciphertext: new writes use the current (first)
 * key, every configured key decrypts, and `npm run rotate-keys` moves old rows to the current key.
 *
 * Format 1 (since issue 11): `0x01 | iv(12) | tag(16) | data`, the additional authenticated data is
 * `<column>` NUL `<row id>`, so a ciphertext copied to another row (or column) fails to decrypt.
 * Legacy format: `iv | tag | data` with the column name alone as additional data; still read, and
 * rewritten to format 1 by the rotation command.
 */
const FORMAT_1 = 0x01;
const HEADER = 1 + 12 + 16;

export interface DataKey {
  id: string;
  key: Buffer;
}

/** Where a ciphertext lives: it only decrypts there. */
export interface CipherPlace {
  column: string;
  rowId: string;
}

/** A ciphertext that cannot be read here. The message names the key id and the place, never data. */
export class UndecryptableError extends Error {
  constructor(
    readonly reason: 'unknown_key' | 'not_authentic',
    place: CipherPlace,
    keyId: string,
  ) {
    super(
      reason === 'unknown_key'
        ? `${place.column} of ${place.rowId} is encrypted with key ${keyId}, which is not configured`
        : `${place.column} of ${place.rowId} does not decrypt with key ${keyId} (altered, or copied from another row)`,
    );
    this.name = 'UndecryptableError';
  }
}

function aad(place: CipherPlace): Buffer {
  return Buffer.from(`${place.column}\0${place.rowId}`, 'utf8');
}

function open(key: Buffer, iv: Buffer, tag: Buffer, data: Buffer, additional: Buffer): string | null {
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, iv);
    decipher.setAAD(additional);
    decipher.setAuthTag(tag);
    return Buffer.concat([decipher.update(data), decipher.final()]).toString('utf8');
  } catch {
    return null;
  }
}

/**
 * A fresh random 96-bit GCM nonce. Drawn from a pool of CSPRNG bytes filled 4,096 nonces at a time
 * (one `randomBytes` call instead of one per payment, as `crypto.randomUUID` buffers its entropy):
 * every nonce is new random output, none is ever handed out twice, and a spent pool is replaced,
 * never overwritten, so a nonce already used stays as it was.
 */
const IV_BYTES = 12;
const IV_POOL_BYTES = IV_BYTES * 4096;
let ivPool = Buffer.alloc(0);
let ivOffset = 0;
export function freshIv(): Buffer {
  if (ivOffset + IV_BYTES > ivPool.length) {
    ivPool = randomBytes(IV_POOL_BYTES);
    ivOffset = 0;
  }
  const iv = ivPool.subarray(ivOffset, ivOffset + IV_BYTES);
  ivOffset += IV_BYTES;
  return iv;
}

export class FieldCipher {
  private readonly current: DataKey;
  private readonly keys: Map<string, Buffer>;

  /** `keys[0]` encrypts; every key decrypts. */
  constructor(keys: readonly DataKey[]) {
    const current = keys[0];
    if (!current) throw new Error('FieldCipher needs at least one key');
    this.current = current;
    this.keys = new Map(keys.map((k) => [k.id, k.key]));
  }

  get currentKeyId(): string {
    return this.current.id;
  }

  encrypt(plaintext: string, place: CipherPlace): { keyId: string; blob: Buffer } {
    const iv = freshIv();
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(aad(place));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.current.id, blob: Buffer.concat([Buffer.of(FORMAT_1), iv, cipher.getAuthTag(), data]) };
  }

  /**
   * The plaintext, and whether the row is already as a new write would be (current key, format 1).
   * Throws `UndecryptableError` for an unknown key id or a ciphertext that is not authentic here.
   */
  decrypt(keyId: string, blob: Buffer, place: CipherPlace): { plaintext: string; current: boolean } {
    const key = this.keys.get(keyId);
    if (!key) throw new UndecryptableError('unknown_key', place, keyId);
    if (blob[0] === FORMAT_1 && blob.length >= HEADER) {
      const plaintext = open(key, blob.subarray(1, 13), blob.subarray(13, HEADER), blob.subarray(HEADER), aad(place));
      if (plaintext !== null) return { plaintext, current: keyId === this.current.id };
    }
    // Legacy rows (before format 1). Their additional data names only the column, so they can be
    // swapped between rows until the rotation command has rewritten them (docs/decisions.md).
    if (blob.length >= 28) {
      const legacy = open(
        key,
        blob.subarray(0, 12),
        blob.subarray(12, 28),
        blob.subarray(28),
        Buffer.from(place.column, 'utf8'),
      );
      if (legacy !== null) return { plaintext: legacy, current: false };
    }
    throw new UndecryptableError('not_authentic', place, keyId);
  }
}
