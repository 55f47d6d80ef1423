"""Bureau web pages of the credit archive (staff session login)."""

app_name = "bureau-credit"

urlpatterns: list = []
