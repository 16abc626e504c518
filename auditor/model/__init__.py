"""What every stage shares: findings and their enumerations, input issues, table and text helpers."""
