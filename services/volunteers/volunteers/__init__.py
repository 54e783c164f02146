"""LinkDuty volunteers service (志愿者): applications and their background review, a file per
volunteer whose personal data stays in the vault, insurance, and teams (志愿服务队)."""
