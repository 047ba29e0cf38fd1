print("ecology")
