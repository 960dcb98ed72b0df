package load

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"fmt"
	"hash"
)

// ErrPrivateKey is wrapped by every error about a key-pair key that cannot
// be used (ErrPassphrase aside); messages never quote the key.
var ErrPrivateKey = errors.New("load: private key")

var (
	oidPBES2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1   = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA224 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 8}
	oidHMACSHA256 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512 = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC  = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
)

type algorithmIdentifier struct {
	Algorithm  asn1.ObjectIdentifier
	Parameters asn1.RawValue `asn1:"optional"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     algorithmIdentifier
	EncryptedData []byte
}

type pbes2Params struct {
	KeyDerivationFunc algorithmIdentifier
	EncryptionScheme  algorithmIdentifier
}

type pbkdf2Params struct {
	Salt           []byte
	IterationCount int
	KeyLength      int                 `asn1:"optional"`
	PRF            algorithmIdentifier `asn1:"optional"`
}

// parsePrivateKey reads an RSA key from PEM: PKCS#8 ("PRIVATE KEY"),
// encrypted PKCS#8 ("ENCRYPTED PRIVATE KEY", PBES2) or PKCS#1 ("RSA PRIVATE
// KEY", unencrypted). Errors never contain key material.
func parsePrivateKey(pemBytes []byte, passphrase string) (*rsa.PrivateKey, error) {
	block, _ := pem.Decode(pemBytes)
	if block == nil {
		return nil, fmt.Errorf("%w: no PEM block found", ErrPrivateKey)
	}
	var der []byte
	switch block.Type {
	case "PRIVATE KEY":
		der = block.Bytes
	case "ENCRYPTED PRIVATE KEY":
		if passphrase == "" {
			return nil, fmt.Errorf("%w: the key is encrypted and no passphrase was given", ErrPrivateKey)
		}
		var err error
		if der, err = decryptPKCS8(block.Bytes, passphrase); err != nil {
			return nil, err
		}
	case "RSA PRIVATE KEY":
		if _, enc := block.Headers["Proc-Type"]; enc {
			return nil, fmt.Errorf("%w: legacy PEM encryption is not supported; convert with openssl pkcs8 -topk8 -v2 aes256", ErrPrivateKey)
		}
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("%w: malformed PKCS#1 key", ErrPrivateKey)
		}
		return k, nil
	default:
		return nil, fmt.Errorf("%w: unsupported PEM block %q (want PRIVATE KEY or ENCRYPTED PRIVATE KEY)", ErrPrivateKey, block.Type)
	}
	k, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		if block.Type == "ENCRYPTED PRIVATE KEY" {
			return nil, ErrPassphrase
		}
		return nil, fmt.Errorf("%w: malformed PKCS#8 key", ErrPrivateKey)
	}
	rk, ok := k.(*rsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("%w: key is %T, Snowflake key-pair authentication needs RSA", ErrPrivateKey, k)
	}
	return rk, nil
}

// decryptPKCS8 decrypts a PBES2 EncryptedPrivateKeyInfo.
func decryptPKCS8(der []byte, passphrase string) ([]byte, error) {
	var info encryptedPrivateKeyInfo
	if rest, err := asn1.Unmarshal(der, &info); err != nil || len(rest) != 0 {
		return nil, fmt.Errorf("%w: malformed encrypted PKCS#8 key", ErrPrivateKey)
	}
	if !info.Algorithm.Algorithm.Equal(oidPBES2) {
		return nil, fmt.Errorf("%w: unsupported key encryption %v (want PBES2: openssl pkcs8 -topk8 -v2 aes256)", ErrPrivateKey, info.Algorithm.Algorithm)
	}
	var p pbes2Params
	if _, err := asn1.Unmarshal(info.Algorithm.Parameters.FullBytes, &p); err != nil {
		return nil, fmt.Errorf("%w: malformed PBES2 parameters", ErrPrivateKey)
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, fmt.Errorf("%w: unsupported key derivation %v (want PBKDF2)", ErrPrivateKey, p.KeyDerivationFunc.Algorithm)
	}
	var kdf pbkdf2Params
	if _, err := asn1.Unmarshal(p.KeyDerivationFunc.Parameters.FullBytes, &kdf); err != nil {
		return nil, fmt.Errorf("%w: malformed PBKDF2 parameters", ErrPrivateKey)
	}
	var prf func() hash.Hash
	switch alg := kdf.PRF.Algorithm; {
	case len(alg) == 0, alg.Equal(oidHMACSHA1):
		prf = sha1.New
	case alg.Equal(oidHMACSHA224):
		prf = sha256.New224
	case alg.Equal(oidHMACSHA256):
		prf = sha256.New
	case alg.Equal(oidHMACSHA384):
		prf = sha512.New384
	case alg.Equal(oidHMACSHA512):
		prf = sha512.New
	default:
		return nil, fmt.Errorf("%w: unsupported PBKDF2 hash %v", ErrPrivateKey, alg)
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	switch alg := p.EncryptionScheme.Algorithm; {
	case alg.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case alg.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case alg.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case alg.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, fmt.Errorf("%w: unsupported key cipher %v (want AES-CBC or DES-EDE3-CBC)", ErrPrivateKey, alg)
	}
	if kdf.IterationCount <= 0 || kdf.IterationCount > 10_000_000 {
		return nil, fmt.Errorf("%w: PBKDF2 iteration count %d out of range", ErrPrivateKey, kdf.IterationCount)
	}
	var iv []byte
	if _, err := asn1.Unmarshal(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, fmt.Errorf("%w: malformed cipher parameters", ErrPrivateKey)
	}
	key, err := pbkdf2.Key(prf, passphrase, kdf.Salt, kdf.IterationCount, keyLen)
	if err != nil {
		return nil, fmt.Errorf("%w: key derivation failed", ErrPrivateKey)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, fmt.Errorf("%w: cipher: %v", ErrPrivateKey, err)
	}
	bs := block.BlockSize()
	if len(iv) != bs || len(info.EncryptedData) == 0 || len(info.EncryptedData)%bs != 0 {
		return nil, fmt.Errorf("%w: malformed encrypted key data", ErrPrivateKey)
	}
	out := make([]byte, len(info.EncryptedData))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, info.EncryptedData)
	pad := int(out[len(out)-1])
	if pad == 0 || pad > bs {
		return nil, ErrPassphrase
	}
	for _, c := range out[len(out)-pad:] {
		if int(c) != pad {
			return nil, ErrPassphrase
		}
	}
	return out[:len(out)-pad], nil
}
