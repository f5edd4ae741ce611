print("scalekd")
