package snowflaketest

import (
	"crypto"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"time"
)

// errJWTInvalid is Snowflake's "JWT token is invalid." login error number.
const errJWTInvalid = 390144

// KeyFingerprint returns the fingerprint Snowflake shows for an RSA public
// key (RSA_PUBLIC_KEY_FP) and expects in a key-pair JWT's issuer:
// "SHA256:" followed by the base64 SHA-256 of the key's PKIX DER form.
func KeyFingerprint(pub *rsa.PublicKey) (string, error) {
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return "", err
	}
	sum := sha256.Sum256(der)
	return "SHA256:" + base64.StdEncoding.EncodeToString(sum[:]), nil
}

// jwtClaims are the claims a key-pair login carries.
type jwtClaims struct {
	Iss string `json:"iss"`
	Sub string `json:"sub"`
	Iat int64  `json:"iat"`
	Exp int64  `json:"exp"`
}

// verifyJWT checks a key-pair login token and returns the user name (upper
// case). With no users and no keys configured, a well-formed token of any
// user is accepted unverified, like any password is.
func (e *Emulator) verifyJWT(token string) (string, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return "", errors.New("token is not a JWT")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	pb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	sig, err3 := base64.RawURLEncoding.DecodeString(parts[2])
	if err := errors.Join(err1, err2, err3); err != nil {
		return "", errors.New("JWT is not base64url")
	}
	var hdr struct {
		Alg string `json:"alg"`
	}
	var c jwtClaims
	if json.Unmarshal(hb, &hdr) != nil || json.Unmarshal(pb, &c) != nil {
		return "", errors.New("JWT is not JSON")
	}
	if hdr.Alg != "RS256" {
		return "", errors.New("JWT algorithm is not RS256")
	}
	_, user, ok := strings.Cut(c.Sub, ".")
	if !ok || user == "" {
		return "", errors.New("JWT subject is not ACCOUNT.USER")
	}
	user = strings.ToUpper(user)
	now := e.now()
	if c.Exp == 0 || now.Unix() >= c.Exp {
		return "", errors.New("JWT has expired")
	}
	if c.Iat > now.Add(time.Minute).Unix() {
		return "", errors.New("JWT is issued in the future")
	}
	pub, registered := e.keys[user]
	if !registered {
		if len(e.keys) == 0 && len(e.users) == 0 {
			return user, nil
		}
		return "", errors.New("no public key is registered for the user")
	}
	fp, err := KeyFingerprint(pub)
	if err != nil {
		return "", err
	}
	if !strings.HasSuffix(c.Iss, "."+fp) || !strings.HasPrefix(strings.ToUpper(c.Iss), strings.ToUpper(c.Sub)+".") {
		return "", errors.New("JWT issuer does not match the registered key")
	}
	digest := sha256.Sum256([]byte(parts[0] + "." + parts[1]))
	if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
		return "", errors.New("JWT signature does not verify")
	}
	return user, nil
}
