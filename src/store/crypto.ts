import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

/**
 * AES-256-GCM for sensitive columns (full bank account numbers). The blob is iv(12) | tag(16) | data;
 * the key id is stored beside it so keys can rotate: new writes use the current key, old rows keep
 * decrypting with the key they name.
 */
export class FieldCipher {
  private readonly keys: Map<string, Buffer>;

  constructor(
    private readonly current: { id: string; key: Buffer },
    previous: { id: string; key: Buffer }[] = [],
  ) {
    this.keys = new Map([...previous, current].map((k) => [k.id, k.key]));
  }

  encrypt(plaintext: string, context: string): { keyId: string; blob: Buffer } {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.current.key, iv);
    cipher.setAAD(Buffer.from(context, 'utf8'));
    const data = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return { keyId: this.current.id, blob: Buffer.concat([iv, cipher.getAuthTag(), data]) };
  }

  decrypt(keyId: string, blob: Buffer, context: string): string {
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`unknown data encryption key id ${keyId}`);
    const decipher = createDecipheriv('aes-256-gcm', key, blob.subarray(0, 12));
    decipher.setAAD(Buffer.from(context, 'utf8'));
    decipher.setAuthTag(blob.subarray(12, 28));
    return Buffer.concat([decipher.update(blob.subarray(28)), decipher.final()]).toString('utf8');
  }
}
